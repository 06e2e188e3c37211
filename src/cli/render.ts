// How a command's result reaches the user: one JSON document, or text; quiet when all went well.
import { Console, Effect, Option } from "effect"
import { OutputService } from "./output.js"
import { Unsuccessful } from "./report.js"

/** Whether --quiet was given: a run that went well then prints nothing at all (cron mails only on errors). */
export const isQuiet = Effect.map(Effect.serviceOption(OutputService), (output) => Option.isSome(output) && output.value.settings.globals.quiet)

/** Prints a result as JSON or as text (no text with --quiet when it is ok); fails with Unsuccessful (exit 1) when it is not ok. */
export const render = <A>(asJson: boolean, ok: boolean, document: A, text: string) =>
  Effect.gen(function*() {
    if (asJson || !ok || !(yield* isQuiet)) yield* Console.log(asJson ? JSON.stringify(document, null, 2) : text)
    if (!ok) return yield* new Unsuccessful()
  })
