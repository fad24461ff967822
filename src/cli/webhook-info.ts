import type { WebhookInfo } from "telegraf/types";

/**
 * Bot API getWebhookInfo as `name: value` lines for a terminal: url, pending_update_count,
 * max_connections, allowed_updates, ip_address, last_error_date (ISO 8601 with its age from `now`)
 * and last_error_message, last_synchronization_error_date. Absent fields are left out, except url
 * and the last error, which say so.
 */
export function describeWebhookInfo(info: WebhookInfo, now: Date): string[] {
  const lines = [
    `url: ${info.url ? info.url : "(none: no webhook is set)"}`,
    `pending_update_count: ${info.pending_update_count}`,
  ];
  if (info.max_connections !== undefined) lines.push(`max_connections: ${info.max_connections}`);
  if (info.allowed_updates !== undefined) lines.push(`allowed_updates: ${info.allowed_updates.join(", ")}`);
  if (info.ip_address !== undefined) lines.push(`ip_address: ${info.ip_address}`);
  if (info.last_error_date === undefined) {
    lines.push("last_error_date: (none)");
  } else {
    lines.push(`last_error_date: ${dateAndAge(info.last_error_date, now)}`);
    lines.push(`last_error_message: ${info.last_error_message ?? ""}`);
  }
  if (info.last_synchronization_error_date !== undefined) {
    lines.push(`last_synchronization_error_date: ${dateAndAge(info.last_synchronization_error_date, now)}`);
  }
  return lines;
}

/** A Bot API Unix time (seconds) as ISO 8601 with its age, e.g. `2025-01-02T03:04:05.000Z (5 min ago)`. */
export function dateAndAge(unixSeconds: number, now: Date): string {
  const ageS = Math.max(0, Math.round(now.getTime() / 1000 - unixSeconds));
  const age =
    ageS < 120
      ? `${ageS} s`
      : ageS < 7200
        ? `${Math.round(ageS / 60)} min`
        : ageS < 172_800
          ? `${Math.round(ageS / 3600)} h`
          : `${Math.round(ageS / 86_400)} d`;
  return `${new Date(unixSeconds * 1000).toISOString()} (${age} ago)`;
}
