/**
 * An error whose message is one line fit to show the user in the topic (the agent exited during
 * session/new, a request timed out...); `cause` holds the detail for the log.
 */
export class UserFacingError extends Error {
  override name = "UserFacingError";
}
