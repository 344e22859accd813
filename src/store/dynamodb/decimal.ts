/**
 * Exact decimal text for DynamoDB Numbers, by string manipulation only (never through a float).
 *
 * DynamoDB keeps a Number's value but not its spelling: measured on DynamoDB Local 1.25.1,
 * N "58356.10" reads back "58356.1", "0.00000000" -> "0", "-0" -> "0", "1E-8" -> "0.00000001",
 * "007" -> "7"; more than 38 significant digits, or a magnitude outside 1E-130 .. <1E+126, is a
 * ValidationException. The item codec therefore sends a decimal as N only when its canonical text
 * plus a recorded scale (fraction digits) rebuilds it exactly ({@link isNumberAttributeSafe}), and
 * rebuilds it with {@link toPlainDecimal} + {@link padToScale}.
 */

/** A plain decimal as Bitstamp writes one: no exponent, no leading zeros, optional fraction. */
const STRICT_PLAIN_DECIMAL_RE = /^-?(?:0|[1-9]\d*)(?:\.\d+)?$/;

/** A decimal in either plain or exponent form, as DynamoDB may return it ("1E-8", "1.5E+3"). */
const ANY_DECIMAL_RE = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** DynamoDB rejects Numbers with more significant digits than this (measured: 39 digits fail). */
export const DYNAMODB_MAX_DIGITS = 38;

/** Number of digits after the decimal point ("27000.50" -> 2, "32" -> 0). */
export function scaleOf(plain: string): number {
  const dot = plain.indexOf(".");
  return dot < 0 ? 0 : plain.length - dot - 1;
}

/**
 * True if DynamoDB can store `text` as N and {@link padToScale}(canonical, {@link scaleOf}(text))
 * gives `text` back: a strict plain decimal, not a negative zero, at most 38 digits in all (which
 * also keeps it inside DynamoDB's magnitude range).
 */
export function isNumberAttributeSafe(text: string): boolean {
  if (!STRICT_PLAIN_DECIMAL_RE.test(text)) return false;
  let digits = 0;
  let nonZero = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      digits++;
      if (c !== 48) nonZero = true;
    }
  }
  if (digits > DYNAMODB_MAX_DIGITS) return false;
  return nonZero || text.charCodeAt(0) !== 45; // "-0", "-0.00" would come back as "0"
}

const MINUS = 45;
const DOT = 46;
const ZERO = 48;
const ONE = 49;
const NINE = 57;

/** {@link numberAttributeScale} of text that cannot be an N attribute (store it as S verbatim). */
export const NOT_A_NUMBER_ATTRIBUTE = -1;

/**
 * How to store a decimal text, in one scan (the item codec's hot path): {@link NOT_A_NUMBER_ATTRIBUTE}
 * unless {@link isNumberAttributeSafe}; else the scale to record, {@link scaleOf} when
 * {@link needsScale}, 0 when the canonical form keeps every digit.
 */
export function numberAttributeScale(text: string): number {
  const n = text.length;
  const intStart = text.charCodeAt(0) === MINUS ? 1 : 0;
  let i = intStart;
  let c = text.charCodeAt(i);
  // Integer part: "0", or a digit 1-9 followed by digits (no leading zeros).
  if (c === ZERO) i++;
  else if (c >= ONE && c <= NINE) {
    i++;
    while (i < n && (c = text.charCodeAt(i)) >= ZERO && c <= NINE) i++;
  } else return NOT_A_NUMBER_ATTRIBUTE;
  let nonZero = i - intStart > 1 || text.charCodeAt(intStart) !== ZERO;
  let scale = 0;
  if (i < n) {
    if (text.charCodeAt(i) !== DOT) return NOT_A_NUMBER_ATTRIBUTE;
    const fracStart = ++i;
    for (; i < n; i++) {
      c = text.charCodeAt(i);
      if (c < ZERO || c > NINE) return NOT_A_NUMBER_ATTRIBUTE;
      if (c !== ZERO) nonZero = true;
    }
    scale = n - fracStart;
    if (scale === 0) return NOT_A_NUMBER_ATTRIBUTE;
  }
  const digits = n - intStart - (scale > 0 ? 1 : 0);
  if (digits > DYNAMODB_MAX_DIGITS) return NOT_A_NUMBER_ATTRIBUTE;
  if (!nonZero && intStart === 1) return NOT_A_NUMBER_ATTRIBUTE; // "-0", "-0.00" would come back as "0"
  return scale > 0 && text.charCodeAt(n - 1) === ZERO ? scale : 0;
}

/** True if the canonical form DynamoDB returns drops trailing fraction zeros of `plain`. */
export function needsScale(plain: string): boolean {
  return plain.indexOf(".") >= 0 && plain.charCodeAt(plain.length - 1) === 48;
}

/** A decimal in the canonical plain form: no exponent, no leading integer zeros, no trailing fraction zeros. */
const CANONICAL_PLAIN_RE = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]*[1-9])?$/;

/**
 * Canonical plain text of a decimal given in plain or exponent form: no exponent, no leading
 * integer zeros, no trailing fraction zeros, no "-0". Throws `RangeError` on text that is not a decimal.
 */
export function toPlainDecimal(text: string): string {
  // Already canonical (what DynamoDB returns for every decimal of today's frames): nothing to do.
  if (CANONICAL_PLAIN_RE.test(text) && text !== "-0") return text;
  const m = ANY_DECIMAL_RE.exec(text);
  if (m === null || (m[2] === "" && (m[3] === undefined || m[3] === ""))) {
    throw new RangeError(`not a decimal number: ${JSON.stringify(text)}`);
  }
  const negative = m[1] === "-";
  let digits = (m[2] ?? "") + (m[3] ?? "");
  // Position of the decimal point within `digits`, moved by the exponent.
  let point = (m[2] ?? "").length + (m[4] === undefined ? 0 : Number(m[4]));
  if (point < 0) {
    digits = "0".repeat(-point) + digits;
    point = 0;
  } else if (point > digits.length) {
    digits = digits + "0".repeat(point - digits.length);
  }
  let intPart = digits.slice(0, point).replace(/^0+/, "");
  const fracPart = digits.slice(point).replace(/0+$/, "");
  if (intPart === "") intPart = "0";
  const body = fracPart === "" ? intPart : `${intPart}.${fracPart}`;
  return negative && body !== "0" ? `-${body}` : body;
}

/** Appends zeros so that `plain` has `scale` fraction digits ("58356.1", 2 -> "58356.10"). */
export function padToScale(plain: string, scale: number): string {
  const have = scaleOf(plain);
  if (have >= scale) return plain;
  return (have === 0 ? `${plain}.` : plain) + "0".repeat(scale - have);
}
