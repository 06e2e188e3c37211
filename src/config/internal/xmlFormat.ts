// A cback3.conf writes every number and flag as element text: the codecs that read it into the
// same numbers and booleans as JSON, and the options and peers built from the shared fields with them.
import { Schema, SchemaTransformation } from "effect"
import {
  type Codecs,
  localPeerFields,
  optionsFields,
  parseBytes,
  parseDuration,
  remotePeerFields,
  wholeNumberMessage
} from "../schema.js"

// The XML side: element text, read into the same numbers and booleans.
const fromText = (parse: (text: string) => number | undefined, message: string): Schema.Codec<number, string> =>
  Schema.String.check(Schema.makeFilter((text: string) => parse(text) !== undefined || message)).pipe(
    Schema.decodeTo(
      Schema.Number,
      SchemaTransformation.transform({ decode: (text: string) => parse(text)!, encode: (value: number) => String(value) })
    )
  )
const parseWhole = (min: number) => (text: string) => /^\d+$/.test(text) && Number.isSafeInteger(Number(text)) && Number(text) >= min ? Number(text) : undefined
const parseSeconds = (positive: boolean) => (text: string) => {
  const value = parseDuration(text)
  return value !== undefined && (positive ? value > 0 : value >= 0) ? value : undefined
}

// Cedar's readBoolean: Y/y is true, N/n is false.
const YesNo = Schema.Literals(["Y", "y", "N", "n"]).annotate({ message: "must be Y or N" }).pipe(
  Schema.decodeTo(
    Schema.Boolean,
    SchemaTransformation.transform<boolean, "Y" | "y" | "N" | "n">({
      decode: (value) => value === "Y" || value === "y",
      encode: (value) => (value ? "Y" : "N")
    })
  )
)

const xmlCodecs: Codecs<string, string, string, "Y" | "y" | "N" | "n"> = {
  count: fromText(parseWhole(1), wholeNumberMessage(1)),
  retryCount: fromText(parseWhole(0), wholeNumberMessage(0)),
  bytes: fromText(parseBytes, "must be a number of bytes of at least 1, optionally with K, M, G or T (powers of 1024): 500M, 10G"),
  seconds: fromText(parseSeconds(true), "must be a duration above 0: seconds, or a number with s, m, h or d (90s, 5m, 2h)"),
  delay: fromText(parseSeconds(false), "must be a duration: seconds, or a number with s, m, h or d (90s, 5m, 2h)"),
  flag: YesNo
}

/**
 * `OptionsConfig` as a `cback3.conf` writes it (numbers, durations and flags as element text).
 *
 * @since 1.0.0
 * @category schemas
 */
export const XmlOptionsConfig = Schema.Struct(optionsFields(xmlCodecs))

/**
 * `LocalPeerConfig` as a `cback3.conf` writes it.
 *
 * @since 1.0.0
 * @category schemas
 */
export const XmlLocalPeerConfig = Schema.Struct(localPeerFields(xmlCodecs))

/**
 * `RemotePeerConfig` as a `cback3.conf` writes it (`managed` as `Y`/`N`).
 *
 * @since 1.0.0
 * @category schemas
 */
export const XmlRemotePeerConfig = Schema.Struct(remotePeerFields(xmlCodecs))
