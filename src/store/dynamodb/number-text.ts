/**
 * The text of a DynamoDB Number, read without converting it (never through a float): whether it is
 * a number at all, its significant digits and the power of ten of its first one, for the limit
 * checks of item-limits.ts (38 digits, magnitude 1E-130 to 9.99…E+125).
 *
 * {@link readNumber} leaves what it read in {@link significantDigits} and {@link leadingExponent}
 * (module variables, read right after it returns: no allocation per Number).
 */

const ZERO = 48;
const NINE = 57;
const PLUS = 43;
const MINUS = 45;
const DOT = 46;
const LOWER_E = 101;
const UPPER_E = 69;

/** Parts of the last Number text read by {@link readNumber}. */
export let significantDigits = 0;
export let leadingExponent = 0;

/**
 * Reads a Number's text: `[+-]digits[.digits][e[+-]digits]` (also `.5`, `5.`), setting
 * {@link significantDigits} (leading and trailing zeros trimmed; 0 for zero) and
 * {@link leadingExponent} (the power of ten of the first significant digit). False if not a number.
 */
export function readNumber(text: string): boolean {
  const n = text.length;
  let i = 0;
  let c = text.charCodeAt(0);
  if (c === PLUS || c === MINUS) c = text.charCodeAt(++i);
  let intDigits = 0;
  let digits = 0;
  /** Digits before the first non-zero one (leading zeros), and digits up to the last non-zero one. */
  let leadingZeros = 0;
  let lastNonZero = -1;
  let seenNonZero = false;
  while (c >= ZERO && c <= NINE) {
    if (c !== ZERO) {
      seenNonZero = true;
      lastNonZero = digits;
    } else if (!seenNonZero) leadingZeros++;
    digits++;
    intDigits++;
    c = text.charCodeAt(++i);
  }
  if (c === DOT) {
    c = text.charCodeAt(++i);
    while (c >= ZERO && c <= NINE) {
      if (c !== ZERO) {
        seenNonZero = true;
        lastNonZero = digits;
      } else if (!seenNonZero) leadingZeros++;
      digits++;
      c = text.charCodeAt(++i);
    }
  }
  if (digits === 0) return false;
  let exponent = 0;
  if (c === LOWER_E || c === UPPER_E) {
    c = text.charCodeAt(++i);
    const negative = c === MINUS;
    if (c === PLUS || c === MINUS) c = text.charCodeAt(++i);
    const start = i;
    while (c >= ZERO && c <= NINE) {
      // Saturate: an exponent with more digits than any limit is far outside the range anyway.
      if (exponent < 1e9) exponent = exponent * 10 + (c - ZERO);
      c = text.charCodeAt(++i);
    }
    if (i === start) return false;
    if (negative) exponent = -exponent;
  }
  if (i !== n) return false;
  significantDigits = seenNonZero ? lastNonZero - leadingZeros + 1 : 0;
  leadingExponent = intDigits - 1 - leadingZeros + exponent;
  return true;
}

/**
 * A plain decimal of at most 38 characters (every Number the item codec writes): at most 38 digits
 * and, without an exponent, a magnitude between 1E-37 and 1E+38, inside every Number limit.
 */
const SHORT_PLAIN_DECIMAL_CHARS = 38;

export function isShortPlainDecimal(text: string): boolean {
  const n = text.length;
  if (n > SHORT_PLAIN_DECIMAL_CHARS) return false;
  let digits = 0;
  let dot = false;
  for (let i = text.charCodeAt(0) === MINUS ? 1 : 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= ZERO && c <= NINE) digits++;
    else if (c === DOT && !dot) dot = true;
    else return false;
  }
  return digits > 0;
}

/** Value of a Number text for duplicate checks in an NS ("1.0" and "1" are one element). */
export function canonicalNumber(text: string): string {
  if (!readNumber(text) || significantDigits === 0) return "0";
  const sign = text.charCodeAt(0) === MINUS ? "-" : "";
  const digits = text.replace(/[eE].*$/, "").replace(/[^0-9]/g, "").replace(/^0+/, "").replace(/0+$/, "");
  return `${sign}${digits}e${leadingExponent}`;
}
