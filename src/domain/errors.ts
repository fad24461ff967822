/**
 * An error whose message is one line fit to show the user in the topic (the agent exited during
 * session/new, a request timed out...); `cause` holds the detail for the log.
 */
export class UserFacingError extends Error {
  override name = "UserFacingError";
}

/**
 * The store cannot write now (the disk is full, an I/O error, a lost database connection): the
 * operation did nothing. `message` is one line naming what to fix; the Update that needed the
 * write is answered 503, so Telegram sends it again later.
 */
export class StoreUnavailableError extends Error {
  override name = "StoreUnavailableError";
}
