// The setup page's QR code scans: the SVG made on the server is drawn to pixels and read back with a
// QR decoder (jsQR), which must find exactly the otpauth:// URI. (The browser test does the same with
// the SVG of the rendered page.)
import { describe, expect, it } from "vitest";
import { renderQrSvg } from "~/server/qr-code.server";
import { generateTotpSecret, totpKeyUri } from "~/server/auth/totp.server";
import { decodeQrSvg } from "../support/qr";

describe("QR code of the setup page", () => {
  it("decodes to the exact otpauth:// URI", () => {
    const uri = totpKeyUri("Client Portal", "anne.o'neil+tax@firm.test", generateTotpSecret());
    expect(decodeQrSvg(renderQrSvg(uri))).toBe(uri);
  });

  it("the decoder is not fooled: a damaged code does not read as the URI", () => {
    const uri = totpKeyUri("Client Portal", "a@b.test", generateTotpSecret());
    const svg = renderQrSvg(uri);
    // Drop most of the dark squares: no longer a readable code.
    const damaged = svg.replace(/ d="([^"]*)"/, (_, d: string) => ` d="${d.match(/M[^z]*z/g)!.filter((_, i) => i % 3 === 0).join("")}"`);
    expect(decodeQrSvg(damaged)).not.toBe(uri);
  });

  it("is a plain SVG: no script, no style, no event handler (the CSP allows neither inline)", () => {
    const svg = renderQrSvg("otpauth://totp/x?secret=ABC");
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).not.toMatch(/<script|style=|<style|\son[a-z]+=/i);
  });
});
