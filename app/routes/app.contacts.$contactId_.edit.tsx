import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { redirect } from "@remix-run/cloudflare";
import { useActionData, useLoaderData } from "@remix-run/react";
import { AppLink } from "~/components/app-link";
import { ContactForm, echoContact } from "~/components/contact-form";
import { contactFormSchema, loadEditableContact, updateContact } from "~/server/staff/contact-editing.server";
import { idParam } from "~/server/fields";
import { failure, readForm, validateForm } from "~/server/forms.server";
import { staffPage } from "~/server/staff/staff-auth.server";

export const meta: MetaFunction = () => [{ title: "Edit contact · Client Portal" }];

async function load(request: Request, context: LoaderFunctionArgs["context"], contactId: string | undefined) {
  const id = idParam.safeParse(contactId);
  // Deleted contacts are restored first; another firm's contact is not found. Read in the session's round trip.
  const { data: row, ...auth } = await staffPage(request, context, async (firm) =>
    id.success ? loadEditableContact(context.db, firm, id.data, context.read) : null,
  );
  if (!row) throw new Response("Contact not found", { status: 404 });
  return { auth, ...row };
}

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const { auth, contact, accountId } = await load(request, context, params.contactId);
  return {
    contact: {
      id: contact.id,
      name: contact.name,
      email: contact.email,
      phone: contact.phone ?? "",
      company: contact.company ?? "",
      notes: contact.notes ?? "",
    },
    hasLogin: accountId !== null,
    isAdmin: auth.staff.role === "admin",
  };
}

export async function action({ request, context, params }: ActionFunctionArgs) {
  const { auth, contact } = await load(request, context, params.contactId);
  const form = await readForm(request);
  const values = echoContact(form);
  const result = validateForm(contactFormSchema, form);
  if (!result.ok) return failure(result, { values });
  const saved = await updateContact(context.db, context.env.LINKS, auth, contact.id, result.data, context.meta);
  if (!saved.ok) return failure(saved, { values });
  return redirect(`/app/contacts/${contact.id}?saved=1`, { status: 303 });
}

export default function EditContact() {
  const { contact, hasLogin, isAdmin } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const values = result && "values" in result ? result.values : contact;
  return (
    <div className="narrow-wide">
      <p className="small">
        <AppLink to={`/app/contacts/${contact.id}`}>← {contact.name}</AppLink>
      </p>
      <h1>Edit contact</h1>
      <ContactForm
        key={JSON.stringify(values)}
        values={values}
        result={result}
        submitLabel="Save"
        cancelTo={`/app/contacts/${contact.id}`}
        emailLocked={hasLogin}
        emailHint={
          hasLogin ? (
            <>
              This is the client&apos;s portal login email.{" "}
              {isAdmin ? (
                <>
                  Change it with <AppLink to={`/app/contacts/${contact.id}/login-details`}>Edit login details</AppLink>, which tells both addresses.
                </>
              ) : (
                "Ask a firm admin to change it with Edit login details."
              )}
            </>
          ) : (
            "A new address stops every link and sign-in link we emailed to the old one."
          )
        }
      />
    </div>
  );
}
