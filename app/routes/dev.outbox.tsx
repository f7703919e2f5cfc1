import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { useLoaderData } from "@remix-run/react";
import { desc } from "drizzle-orm";
import { outbox } from "../../db/schema";
import { formatDateTime } from "~/lib/format";
import { renderOutboxMessage } from "~/server/outbox-render.server";
import { isLocalDevelopment } from "~/server/settings.server";

export const meta: MetaFunction = () => [{ title: "Dev outbox" }];

// Development only: it shows every firm's live sign-in links, so anywhere else it does not exist.
// Fails closed: exactly ENVIRONMENT=development and a request to a loopback address, or 404.
// The links are stored sealed (docs/decisions/008); this page opens them the way delivery does. In
// development the "delivered" message keeps its sealed link, since this page is its mailbox.
export async function loader({ context, request }: LoaderFunctionArgs) {
  if (!isLocalDevelopment(context.env, new URL(request.url))) throw new Response("Not found", { status: 404 });
  const rows = await context.db.select().from(outbox).orderBy(desc(outbox.createdAt)).limit(50);
  const messages = await Promise.all(
    rows.map(async (row) => ({
      id: row.id,
      toAddress: row.toAddress,
      createdAt: row.createdAt,
      sentAt: row.sentAt,
      attempts: row.attempts,
      ...(await renderOutboxMessage(context.env, row, "(link removed after delivery)")),
    })),
  );
  return { messages };
}

function Linkified({ text }: { text: string }) {
  const parts = text.split(/(https?:\/\/[^\s]+)/g);
  return (
    <pre className="mono small">
      {parts.map((part, i) =>
        /^https?:\/\//.test(part) ? (
          <a key={i} href={part}>
            {part}
          </a>
        ) : (
          part
        ),
      )}
    </pre>
  );
}

export default function DevOutbox() {
  const { messages } = useLoaderData<typeof loader>();
  return (
    <main id="main">
      <h1>Dev outbox</h1>
      <p className="muted">The last 50 emails the app wrote. Links are clickable. This page only exists in development.</p>
      {messages.length === 0 ? <p>No emails yet.</p> : null}
      {messages.map((m) => (
        <article key={m.id} className="card" aria-label={m.subject}>
          <h2>{m.subject}</h2>
          <p className="small muted">
            To {m.toAddress} · {formatDateTime(m.createdAt)} · {m.sentAt ? "delivered" : `queued (${m.attempts} attempts)`}
          </p>
          <Linkified text={m.text} />
        </article>
      ))}
    </main>
  );
}
