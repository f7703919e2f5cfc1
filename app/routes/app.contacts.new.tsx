import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/cloudflare";
import { redirect } from "@remix-run/cloudflare";
import { useActionData } from "@remix-run/react";
import { AppLink } from "~/components/app-link";
import { ContactForm, echoContact } from "~/components/contact-form";
import { contactFormSchema, createContact } from "~/server/staff/contact-editing.server";
import { failure, readForm, validateForm } from "~/server/forms.server";
import { requireStaff } from "~/server/staff/staff-auth.server";

export const meta: MetaFunction = () => [{ title: "Add contact · Client Portal" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireStaff(request, context);
  return {};
}

export async function action({ request, context }: ActionFunctionArgs) {
  const auth = await requireStaff(request, context);
  const form = await readForm(request);
  const values = echoContact(form);
  const result = validateForm(contactFormSchema, form);
  if (!result.ok) return failure(result, { values });
  const saved = await createContact(context.db, auth, result.data, context.meta);
  if (!saved.ok) return failure(saved, { values });
  return redirect(`/app/contacts/${saved.contactId}?created=1`, { status: 303 });
}

export default function NewContact() {
  const result = useActionData<typeof action>();
  const values = result && "values" in result ? result.values : { name: "", email: "", phone: "", company: "", notes: "" };
  return (
    <div className="narrow-wide">
      <p className="small">
        <AppLink to="/app/contacts">← Contacts</AppLink>
      </p>
      <h1>Add contact</h1>
      <ContactForm
        key={JSON.stringify(values)}
        values={values}
        result={result}
        submitLabel="Add contact"
        cancelTo="/app/contacts"
        emailHint="Links and invites go to this address. Each contact of your firm has their own."
      />
    </div>
  );
}
