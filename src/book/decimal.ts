/**
 * Exact decimals for the order book, never through a float.
 *
 * A {@link Decimal} is a plain JS number when the value is a safe integer count of 10^-8 units
 * ({@link FAST_SCALE}): every price and amount Bitstamp sends today fits (8 decimals at most,
 * `"0.00171371"`, `"79715.38"`), so the hot path adds and compares integers in registers and
 * allocates nothing. Anything else (more than 8 decimals, or more than ~9e7 whole units at 8
 * decimals, e.g. a large SHIB amount) is a {@link BigDecimal}: a BigInt and its own scale.
 *
 * Each value has exactly one representation (a value that fits is always a number, a BigDecimal is
 * normalized), so {@link decimalKey} can key a Map by value: `"64839"` and `"64839.00"` are one level.
 *
 * Texts are Bitstamp's decimal strings in plain (`"58356.10"`) or exponent form (`"1E-8"`, seen in a
 * real re-serialized frame); negative texts are refused (no price or amount is negative).
 */

/** Decimal places of the fast representation: Bitstamp's finest market precision (base_decimals 8). */
export const FAST_SCALE = 8;
const FAST_UNIT = 1e8;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const MAX_SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);
/** Exponents beyond this are refused: `"1E+999999"` would allocate a million digits. */
const MAX_EXPONENT = 1000;

/** A value that does not fit the fast form: `units / 10^scale`, with no trailing zero in `units` (unless scale is 0). */
export class BigDecimal {
  constructor(
    readonly units: bigint,
    readonly scale: number,
  ) {}
}

/** An exact decimal: a safe integer number of 10^-8 units, or a {@link BigDecimal}. */
export type Decimal = number | BigDecimal;

/** The result slot of {@link parseDecimal}, reused by the caller so that parsing allocates nothing. */
export interface ParsedDecimal {
  value: Decimal;
  /** Digits after the point in the plain form of the text: `"58356.10"` 2, `"1E-8"` 8, `"1.5E+3"` 0. */
  scale: number;
  /** True when the text is already its own plain form (no exponent, no leading zero): display it as is. */
  plain: boolean;
}

/** A fresh result slot for {@link parseDecimal}. */
export function parsedDecimalSlot(): ParsedDecimal {
  return { value: 0, scale: 0, plain: true };
}

const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8];
const ZERO = 48;
const NINE = 57;
const DOT = 46;
const GENERAL_RE = /^(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/**
 * Parses a non-negative decimal text into `out`. Returns false (and leaves `out` unspecified) when
 * the text is not one: empty, negative, malformed, or an exponent beyond ±1000.
 */
export function parseDecimal(text: string, out: ParsedDecimal): boolean {
  // Fast path: plain digits with at most 8 decimals, one pass, no allocation.
  const n = text.length;
  let i = 0;
  let units = 0;
  let c = 0;
  while (i < n && (c = text.charCodeAt(i)) >= ZERO && c <= NINE) {
    units = units * 10 + (c - ZERO);
    i++;
  }
  if (i === 0 || (i > 1 && text.charCodeAt(0) === ZERO)) return parseGeneral(text, out);
  let scale = 0;
  if (i < n && c === DOT) {
    const fracStart = ++i;
    while (i < n && (c = text.charCodeAt(i)) >= ZERO && c <= NINE) {
      if (scale === FAST_SCALE) return parseGeneral(text, out);
      units = units * 10 + (c - ZERO);
      scale++;
      i++;
    }
    if (i === fracStart) return false;
  }
  if (i !== n) return parseGeneral(text, out);
  units *= POW10[FAST_SCALE - scale]!;
  // Exact while below 2^53; once past it the float stays past it, so this one test suffices.
  if (units > MAX_SAFE) return parseGeneral(text, out);
  out.value = units;
  out.scale = scale;
  out.plain = true;
  return true;
}

/** Exponent form, more than 8 decimals, leading zeros, huge values: BigInt arithmetic on the digits. */
function parseGeneral(text: string, out: ParsedDecimal): boolean {
  const m = GENERAL_RE.exec(text);
  if (m === null) return false;
  const intDigits = m[1]!;
  const fracDigits = m[2] ?? "";
  const exponent = m[3] === undefined ? 0 : Number(m[3]);
  if (Math.abs(exponent) > MAX_EXPONENT) return false;
  let digits = intDigits + fracDigits;
  let scale = fracDigits.length - exponent;
  if (scale < 0) {
    digits += "0".repeat(-scale);
    scale = 0;
  }
  out.value = decimalFromUnits(BigInt(digits), scale);
  out.scale = scale;
  out.plain = m[3] === undefined && (intDigits.length === 1 || intDigits.charCodeAt(0) !== ZERO);
  return true;
}

/** The one representation of `units / 10^scale` (scale >= 0): a number when it fits, else a normalized BigDecimal. */
export function decimalFromUnits(units: bigint, scale: number): Decimal {
  while (scale > 0 && units % 10n === 0n) {
    units /= 10n;
    scale--;
  }
  if (scale <= FAST_SCALE) {
    const fast = units * 10n ** BigInt(FAST_SCALE - scale);
    if (fast <= MAX_SAFE_BIG && fast >= -MAX_SAFE_BIG) return Number(fast);
  }
  return new BigDecimal(units, scale);
}

/** `units` of `x` at `scale` (>= x's own scale). */
function unitsAt(x: Decimal, scale: number): bigint {
  if (typeof x === "number") return BigInt(x) * 10n ** BigInt(scale - FAST_SCALE);
  return x.units * 10n ** BigInt(scale - x.scale);
}

function scaleOfValue(x: Decimal): number {
  return typeof x === "number" ? FAST_SCALE : x.scale;
}

/** a + b, exact. */
export function addDecimal(a: Decimal, b: Decimal): Decimal {
  if (typeof a === "number" && typeof b === "number") {
    const r = a + b;
    // Two safe integers: the float sum is exact whenever the true sum is safe, and unsafe otherwise.
    if (r <= MAX_SAFE && r >= -MAX_SAFE) return r;
  }
  const scale = Math.max(scaleOfValue(a), scaleOfValue(b));
  return decimalFromUnits(unitsAt(a, scale) + unitsAt(b, scale), scale);
}

/** a - b, exact. */
export function subtractDecimal(a: Decimal, b: Decimal): Decimal {
  if (typeof a === "number" && typeof b === "number") {
    const r = a - b;
    if (r <= MAX_SAFE && r >= -MAX_SAFE) return r;
  }
  const scale = Math.max(scaleOfValue(a), scaleOfValue(b));
  return decimalFromUnits(unitsAt(a, scale) - unitsAt(b, scale), scale);
}

/** x / 2, exact (one more decimal when the last digit is odd: (1.01 + 1.02) / 2 = 1.015). */
export function halveDecimal(x: Decimal): Decimal {
  if (typeof x === "number" && x % 2 === 0) return x / 2;
  const scale = scaleOfValue(x);
  return decimalFromUnits(unitsAt(x, scale) * 5n, scale + 1);
}

/** Negative, zero or positive as a < b, a = b, a > b. */
export function compareDecimal(a: Decimal, b: Decimal): number {
  if (typeof a === "number" && typeof b === "number") return a < b ? -1 : a > b ? 1 : 0;
  const scale = Math.max(scaleOfValue(a), scaleOfValue(b));
  const x = unitsAt(a, scale);
  const y = unitsAt(b, scale);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** True for zero (zero always has the fast form). */
export function isZeroDecimal(x: Decimal): boolean {
  return x === 0;
}

/** A Map key that is equal for equal values and only for them. */
export function decimalKey(x: Decimal): number | string {
  return typeof x === "number" ? x : `${x.units}e-${x.scale}`;
}

/** Digits after the point that `x` needs: 0.1 -> 1, 5 -> 0. */
export function decimalScale(x: Decimal): number {
  if (typeof x !== "number") return x.scale;
  let frac = Math.abs(x) % FAST_UNIT;
  if (frac === 0) return 0;
  let scale = FAST_SCALE;
  while (frac % 10 === 0) {
    frac /= 10;
    scale--;
  }
  return scale;
}

/**
 * Plain decimal text of `x` with at least `minScale` digits after the point (padded with zeros), and
 * more when the value needs them: formatDecimal(0.5 as 10^-8 units, 2) = "0.50".
 */
export function formatDecimal(x: Decimal, minScale = 0): string {
  const scale = Math.max(minScale, decimalScale(x));
  if (typeof x === "number") {
    const negative = x < 0;
    const abs = negative ? -x : x;
    const fracUnits = abs % FAST_UNIT; // % is exact on doubles; abs / 1e8 could round up near an integer
    const whole = (abs - fracUnits) / FAST_UNIT;
    const sign = negative ? "-" : "";
    if (scale === 0) return `${sign}${whole}`;
    const frac = String(fracUnits).padStart(FAST_SCALE, "0");
    const fracText = scale <= FAST_SCALE ? frac.slice(0, scale) : frac.padEnd(scale, "0");
    return `${sign}${whole}.${fracText}`;
  }
  const negative = x.units < 0n;
  const digits = (negative ? -x.units : x.units).toString().padStart(x.scale + 1, "0");
  const cut = digits.length - x.scale;
  const sign = negative ? "-" : "";
  if (scale === 0) return `${sign}${digits}`;
  return `${sign}${digits.slice(0, cut)}.${digits.slice(cut).padEnd(scale, "0")}`;
}
