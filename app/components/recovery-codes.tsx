import { useState } from "react";

/** Shown once after enrolment: the codes, a download (works without JS) and a copy button (with JS). */
export function RecoveryCodes({ codes, firmName }: { codes: string[]; firmName: string }) {
  const [copied, setCopied] = useState(false);
  const text = `${firmName} portal recovery codes\nEach code works once.\n\n${codes.join("\n")}\n`;
  return (
    <section className="card" aria-labelledby="codes-heading">
      <h2 id="codes-heading">Save your recovery codes</h2>
      <p>
        If you lose your phone, each of these codes lets you in once. Keep them somewhere safe, like a password manager. We will not
        show them again.
      </p>
      <ul className="codes" aria-label="Recovery codes">
        {codes.map((code) => (
          <li key={code}>{code}</li>
        ))}
      </ul>
      <div className="row">
        <a className="button secondary" download="recovery-codes.txt" href={`data:text/plain;charset=utf-8,${encodeURIComponent(text)}`}>
          Download
        </a>
        <button
          type="button"
          className="secondary"
          onClick={() => {
            void navigator.clipboard?.writeText(text).then(() => setCopied(true));
          }}
        >
          Copy
        </button>
        <span role="status">{copied ? "Copied." : ""}</span>
      </div>
    </section>
  );
}
