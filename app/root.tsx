import type { MetaFunction } from "@remix-run/cloudflare";
import {
  isRouteErrorResponse,
  Meta,
  Outlet,
  Scripts,
  ScrollRestoration,
  useRouteError,
} from "@remix-run/react";
import type { ReactNode } from "react";
import { useAppLinkNavigation } from "./components/app-link";
import { useNonce } from "./nonce";
import stylesheet from "./styles.css?url";

export const meta: MetaFunction = () => [{ title: "Client Portal" }];

export function Layout({ children }: { children: ReactNode }) {
  const nonce = useNonce();
  return (
    <html lang="en">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <Meta />
        {/* The document's two links, written out: Remix's <Links> gathered them from every matched route's
            `links` on each render (about 0.2 ms of a page view, issue 14), and no other route has any.
            test/unit/document-links.test.ts fails if a route gains `links` or its own CSS. */}
        <link rel="stylesheet" href={stylesheet} />
        <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
      </head>
      <body>
        <a className="skip-link" href="#main">
          Skip to content
        </a>
        {children}
        <ScrollRestoration nonce={nonce} />
        <Scripts nonce={nonce} />
      </body>
    </html>
  );
}

export default function App() {
  useAppLinkNavigation();
  return <Outlet />;
}

export function ErrorBoundary() {
  const error = useRouteError();
  const status = isRouteErrorResponse(error) ? error.status : 500;
  const message = isRouteErrorResponse(error)
    ? typeof error.data === "string" && error.data.length < 300
      ? error.data
      : error.statusText
    : "Something went wrong on our side. Please try again.";
  const title = status === 404 ? "Page not found" : status === 403 ? "Not allowed" : "Something went wrong";
  return (
    <main id="main" className="narrow">
      <h1>{title}</h1>
      <p>{status === 404 ? "There is nothing at this address." : message}</p>
      <p>
        <a href="/">Go to the start page</a>
      </p>
    </main>
  );
}
