// Portal adoption at a glance: the headline figures, a stacked bar chart of sign-ins by method over
// 12 weeks (SVG rendered on the server, no script) and the same numbers as a table. The chart is an
// image with a title and a description; the table is what screen readers and copy-paste use.
import { useId } from "react";
import { METHOD_LABELS, SIGN_IN_METHODS, type SignInMethod } from "~/lib/adoption";
import { formatDate } from "~/lib/format";

export type AdoptionView = {
  contacts: number;
  accounts: number;
  twoFactor: number;
  withoutAccount: number;
  recent: { any: number } & Record<SignInMethod, number>;
  weeks: Array<{ start: number } & Record<SignInMethod, number>>;
};

const COLORS: Record<SignInMethod, string> = {
  link: "#93c5fd",
  password: "#1d4ed8",
  password_2fa: "#166534",
  passkey: "#7e22ce",
  other: "#6b7280",
};

const METHODS = SIGN_IN_METHODS.map((key) => ({ key, label: METHOD_LABELS[key], color: COLORS[key] }));

function percent(part: number, whole: number): string {
  return whole === 0 ? "" : ` (${Math.round((part / whole) * 100)}%)`;
}

export function AdoptionSummary({ adoption, headingLevel = 2, tableOpen = false }: { adoption: AdoptionView; headingLevel?: 2 | 3; tableOpen?: boolean }) {
  const id = useId();
  const Heading = headingLevel === 2 ? "h2" : "h3";
  const methods = METHODS.filter((m) => m.key !== "other" || adoption.weeks.some((w) => w.other > 0) || adoption.recent.other > 0);
  return (
    <section className="card adoption" aria-labelledby={`${id}-heading`}>
      <Heading id={`${id}-heading`}>Portal adoption</Heading>
      <dl className="stats">
        <div>
          <dt>Clients with a portal account</dt>
          <dd>
            {adoption.accounts} of {adoption.contacts}
            {percent(adoption.accounts, adoption.contacts)}
          </dd>
        </div>
        <div>
          <dt>Two-factor authentication on</dt>
          <dd>
            {adoption.twoFactor}
            {percent(adoption.twoFactor, adoption.accounts)}
          </dd>
        </div>
        <div>
          <dt>Signed in within 30 days</dt>
          <dd>
            {adoption.recent.any}
            <span className="small muted">
              {" "}
              ({methods.map((m) => `${m.label.toLowerCase()} ${adoption.recent[m.key]}`).join(", ")})
            </span>
          </dd>
        </div>
      </dl>
      <SignInChart weeks={adoption.weeks} methods={methods} id={id} tableOpen={tableOpen} />
    </section>
  );
}

function SignInChart({ weeks, methods, id, tableOpen }: { weeks: AdoptionView["weeks"]; methods: typeof METHODS; id: string; tableOpen: boolean }) {
  const width = 480;
  const height = 160;
  const top = 10;
  const bottom = 22;
  const left = 30;
  const plotHeight = height - top - bottom;
  const totals = weeks.map((w) => methods.reduce((sum, m) => sum + w[m.key], 0));
  const max = Math.max(1, ...totals);
  const slot = (width - left) / weeks.length;
  const barWidth = slot * 0.7;
  const all = totals.reduce((a, b) => a + b, 0);
  const first = weeks[0];
  const last = weeks[weeks.length - 1];
  const description = `Stacked bars, one per week from ${formatDate(first?.start)} to ${formatDate(last?.start)}: ${all} sign-ins in all, at most ${Math.max(...totals, 0)} in one week. ${methods
    .map((m) => `${m.label}: ${weeks.reduce((sum, w) => sum + w[m.key], 0)}`)
    .join(", ")}. The table with it has every number.`;
  return (
    <figure className="chart">
      <svg
        role="img"
        aria-labelledby={`${id}-title ${id}-desc`}
        viewBox={`0 0 ${width} ${height}`}
        width="100%"
        preserveAspectRatio="xMinYMin meet"
        className="chart-svg"
      >
        <title id={`${id}-title`}>Client sign-ins by method, last 12 weeks</title>
        <desc id={`${id}-desc`}>{description}</desc>
        <line x1={left} y1={top + plotHeight} x2={width} y2={top + plotHeight} stroke="#9ca3af" />
        <text x={left - 4} y={top + 8} textAnchor="end" fontSize="10" fill="#4b5563">
          {max}
        </text>
        <text x={left - 4} y={top + plotHeight} textAnchor="end" fontSize="10" fill="#4b5563">
          0
        </text>
        {weeks.map((week, i) => {
          let y = top + plotHeight;
          const x = left + i * slot + (slot - barWidth) / 2;
          return (
            <g key={week.start}>
              {methods.map((m) => {
                const h = (week[m.key] / max) * plotHeight;
                y -= h;
                return h > 0 ? <rect key={m.key} x={x} y={y} width={barWidth} height={h} fill={m.color} /> : null;
              })}
              {i % 3 === 0 ? (
                <text x={x} y={height - 6} fontSize="10" fill="#4b5563">
                  {formatDate(week.start).slice(5)}
                </text>
              ) : null}
            </g>
          );
        })}
      </svg>
      <figcaption className="row small legend" aria-hidden="true">
        {methods.map((m) => (
          <span key={m.key}>
            <svg width="10" height="10" aria-hidden="true" focusable="false">
              <rect width="10" height="10" fill={m.color} />
            </svg>{" "}
            {m.label}
          </span>
        ))}
      </figcaption>
      <details className="table-wrap" open={tableOpen}>
        <summary className="small">Sign-ins per week as a table</summary>
        <table className="compact">
          <caption className="small muted">Sign-ins by method, per week (week starting)</caption>
          <thead>
            <tr>
              <th scope="col">Week</th>
              {methods.map((m) => (
                <th scope="col" key={m.key}>
                  {m.label}
                </th>
              ))}
              <th scope="col">Total</th>
            </tr>
          </thead>
          <tbody>
            {weeks.map((week, i) => (
              <tr key={week.start}>
                <th scope="row">{formatDate(week.start)}</th>
                {methods.map((m) => (
                  <td key={m.key}>{week[m.key]}</td>
                ))}
                <td>{totals[i]}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
