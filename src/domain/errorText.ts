// How an error's message reads what caused it: the cause's own message, and a detail appended
// only when there is one (so a message never ends in a dangling colon).

/** The message of an error or error-like cause, else the cause as text; nothing for none. */
export const describeCause = (cause: unknown): string => {
  if (cause === undefined) return ""
  if (cause instanceof Error || (typeof cause === "object" && cause !== null && "message" in cause)) {
    return String((cause as { message: unknown }).message)
  }
  return String(cause)
}

/** `text: detail`, or `text` alone when the detail is empty. */
export const withDetail = (text: string, detail: string | undefined): string =>
  detail === undefined || detail.trim() === "" ? text : `${text}: ${detail.trim()}`
