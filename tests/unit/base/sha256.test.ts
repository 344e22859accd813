/** SHA-256 (src/base/sha256.ts) against FIPS 180-4's examples and the runtime's own crypto.subtle. */
import { expect, test } from "bun:test";
import { sha256, sha256Hex } from "../../../src/base/sha256.ts";

const text = (s: string) => new TextEncoder().encode(s);

test("gives the FIPS 180-4 example digests", () => {
  expect(sha256Hex(text("abc"))).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  expect(sha256Hex(text(""))).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  expect(sha256Hex(text("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))).toBe("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
});

test("agrees with crypto.subtle on every length around the block and padding edges", async () => {
  for (const length of [1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 65_537]) {
    const data = new Uint8Array(length);
    for (let i = 0; i < length; i++) data[i] = (i * 131 + length) & 0xff;
    const expected = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
    expect({ length, digest: [...sha256(data)] }).toEqual({ length, digest: [...expected] });
  }
});
