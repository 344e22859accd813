import { describe, expect, test } from "bun:test";
import { ERROR_CODES, EXIT, knownErrorCode, obcapError } from "../../../src/base/errors.ts";

describe("knownErrorCode", () => {
  test("keeps every code of ERROR_CODES", () => {
    for (const code of Object.keys(ERROR_CODES)) expect(knownErrorCode(code)).toBe(code as keyof typeof ERROR_CODES);
  });

  test("maps anything else to E_WORKER_FAILED, or to the fallback given", () => {
    for (const code of ["", "E_NOPE", "e_usage", "toString", "__proto__", "constructor", "hasOwnProperty"]) {
      expect(knownErrorCode(code)).toBe("E_WORKER_FAILED");
      expect(knownErrorCode(code, "E_INTERNAL")).toBe("E_INTERNAL");
    }
  });

  test("the code it gives builds an error with that code's exit code", () => {
    expect(obcapError(knownErrorCode("E_FRAMES_LOST"), "lost").exitCode).toBe(EXIT.dataLoss);
    expect(obcapError(knownErrorCode("E_SOMETHING_NEWER"), "x").exitCode).toBe(EXIT.internal);
  });
});
