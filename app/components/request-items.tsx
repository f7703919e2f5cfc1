// The client's checklist item: a form per item (tick, answer, upload), plain posts without JavaScript.
import { Form, useRevalidator } from "@remix-run/react";
import { useState, type FormEvent } from "react";
import { ITEM_KIND_LABELS, formatBytes } from "~/lib/requests";

export type ItemResult =
  | { ok: true; itemId: string | null; message: string }
  | { ok: false; itemId: string | null; formError: string; fieldErrors?: Record<string, string> };

type Item = {
  id: string;
  kind: "task" | "question" | "file";
  label: string;
  answer: string | null;
  completedAt: number | null;
  files: { id: string; fileName: string; size: number }[];
};

type Props = { item: Item; open: boolean; base: string; accept: string; typesSentence: string; result?: ItemResult };

export function ItemForms({ item, open, base, accept, typesSentence, result }: Props) {
  const labelId = `item-${item.id}-label`;
  const errorId = `item-${item.id}-error`;
  const error = result && !result.ok ? result.formError : null;
  return (
    <>
      <p className="item-head">
        <span className="badge">{ITEM_KIND_LABELS[item.kind]}</span>{" "}
        <span className={item.completedAt ? "badge badge-ok" : "badge badge-warn"}>{item.completedAt ? "Done" : "To do"}</span>
      </p>
      {item.kind === "task" ? (
        <>
          <p className="item-label" id={labelId}>
            {item.label}
          </p>
          {open && !item.completedAt ? (
            <Form method="post">
              <input type="hidden" name="intent" value="tick" />
              <input type="hidden" name="itemId" value={item.id} />
              <button type="submit" aria-describedby={labelId}>
                Mark as done
              </button>
            </Form>
          ) : null}
        </>
      ) : null}
      {item.kind === "question" ? (
        open ? (
          <Form method="post">
            <input type="hidden" name="intent" value="answer" />
            <input type="hidden" name="itemId" value={item.id} />
            <div className="field">
              <label htmlFor={`answer-${item.id}`} className="item-label">
                {item.label}
              </label>
              <textarea
                id={`answer-${item.id}`}
                name="answer"
                rows={4}
                maxLength={5000}
                defaultValue={item.answer ?? ""}
                aria-invalid={error ? true : undefined}
                aria-describedby={error ? errorId : undefined}
              />
            </div>
            <button type="submit">Save</button>
          </Form>
        ) : (
          <>
            <p className="item-label">{item.label}</p>
            {item.answer ? <blockquote className="answer pre-line">{item.answer}</blockquote> : null}
          </>
        )
      ) : null}
      {item.kind === "file" ? (
        <>
          {item.files.length > 0 ? (
            <ul className="files" aria-label="Uploaded files">
              {item.files.map((f) => (
                <li key={f.id}>
                  <a href={`${base}/files/${f.id}`} download>
                    {f.fileName}
                  </a>{" "}
                  <span className="small muted">{formatBytes(f.size)}</span>
                </li>
              ))}
            </ul>
          ) : null}
          {open ? (
            <UploadForm item={item} base={base} accept={accept} typesSentence={typesSentence} error={error} errorId={errorId} />
          ) : (
            <p className="item-label">{item.label}</p>
          )}
        </>
      ) : null}
      {error ? (
        <p className="error" id={errorId} role="alert">
          {error}
        </p>
      ) : null}
      {result?.ok ? (
        <p className="ok small" role="status">
          {result.message}
        </p>
      ) : null}
    </>
  );
}

/**
 * Without JavaScript this is a multipart form post. With it, the file goes as the raw body of a
 * request to the item's upload endpoint, which streams it to storage without buffering it.
 */
function UploadForm({ item, base, accept, typesSentence, error, errorId }: Omit<Props, "open" | "result"> & { error: string | null; errorId: string }) {
  const revalidator = useRevalidator();
  const [state, setState] = useState<{ busy: boolean; error: string | null; message: string | null }>({ busy: false, error: null, message: null });
  const hintId = `file-${item.id}-hint`;
  const localErrorId = `file-${item.id}-local-error`;

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    const form = event.currentTarget;
    const input = form.elements.namedItem("file") as HTMLInputElement | null;
    const file = input?.files?.[0];
    if (!file) return; // the server answers "Choose a file to upload."
    event.preventDefault();
    setState({ busy: true, error: null, message: null });
    try {
      const response = await fetch(`${base}/items/${item.id}/upload`, {
        method: "POST",
        body: file,
        headers: { "Content-Type": file.type || "application/octet-stream", "X-File-Name": encodeURIComponent(file.name) },
      });
      const data = (await response.json().catch(() => null)) as { ok?: boolean; message?: string } | null;
      if (!response.ok || !data?.ok) {
        setState({ busy: false, error: data?.message ?? "The upload failed. Please try again.", message: null });
        return;
      }
      form.reset();
      setState({ busy: false, error: null, message: data.message ?? "Uploaded." });
      revalidator.revalidate();
    } catch {
      setState({ busy: false, error: "The upload failed. Check your connection and try again.", message: null });
    }
  }

  const shownError = state.error ?? error;
  return (
    <Form method="post" encType="multipart/form-data" onSubmit={onSubmit}>
      <input type="hidden" name="itemId" value={item.id} />
      <div className="field">
        <label htmlFor={`file-${item.id}`} className="item-label">
          {item.label}
        </label>
        <p className="hint" id={hintId}>
          {typesSentence}, up to 50 MB.
        </p>
        <input
          id={`file-${item.id}`}
          name="file"
          type="file"
          accept={accept}
          aria-invalid={shownError ? true : undefined}
          aria-describedby={[hintId, state.error ? localErrorId : error ? errorId : null].filter(Boolean).join(" ")}
        />
      </div>
      <button type="submit" disabled={state.busy}>
        {state.busy ? "Uploading…" : "Upload"}
      </button>
      {state.error ? (
        <p className="error" id={localErrorId} role="alert">
          {state.error}
        </p>
      ) : null}
      {state.message ? (
        <p className="ok small" role="status">
          {state.message}
        </p>
      ) : null}
    </Form>
  );
}
