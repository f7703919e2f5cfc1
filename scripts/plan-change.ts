// The `firm:plan` operator command's input and SQL, apart from the command so they can be tested.
import { z } from "zod";
import { PLANS, type Plan } from "../app/lib/domain";
import { sql } from "../db/sql-text";

export type PlanChange = { slug: string; plan: Plan; remote: boolean; envName: string | undefined };

const slugSchema = z.string().regex(/^[a-z0-9-]{1,64}$/, "firm slug: lowercase letters, digits and dashes");
const envSchema = z.string().regex(/^[a-z0-9_-]{1,64}$/, "--env: lowercase letters, digits, dashes and underscores");

/** `<firm-slug> <plan> [--remote] [--env <name>]`, strictly: anything else is refused with the reasons. */
export function parsePlanArgs(args: string[]): { ok: true; change: PlanChange } | { ok: false; errors: string[] } {
  const errors: string[] = [];
  const positional: string[] = [];
  let remote = false;
  let envName: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--remote") remote = true;
    else if (arg === "--env") {
      envName = args[++i] ?? "";
      const env = envSchema.safeParse(envName);
      if (!env.success) errors.push(...env.error.issues.map((issue) => issue.message));
    } else if (arg.startsWith("-")) errors.push(`unknown option ${arg}`);
    else positional.push(arg);
  }
  const parsed = z.tuple([slugSchema, z.enum(PLANS)]).safeParse(positional);
  if (!parsed.success) errors.push(...parsed.error.issues.map((issue) => issue.message));
  if (!parsed.success || errors.length) return { ok: false, errors };
  return { ok: true, change: { slug: parsed.data[0], plan: parsed.data[1], remote, envName } };
}

/** The plan change with its audit event, then the firm as it is after both: one statement each, every value quoted by `sql`. */
export function planChangeSql(change: { slug: string; plan: Plan }, eventId: string, now: number): string[] {
  const { slug, plan } = change;
  return [
    sql`UPDATE firms SET plan = ${plan} WHERE slug = ${slug};`,
    sql`INSERT INTO audit_events (id, firm_id, at, type, actor_type, actor_label, detail)
     SELECT ${eventId}, id, ${now}, 'firm.plan_changed', 'system', 'Operator', json_object('plan', ${plan})
     FROM firms WHERE slug = ${slug};`,
    sql`SELECT slug, plan, security_mode FROM firms WHERE slug = ${slug};`,
  ];
}
