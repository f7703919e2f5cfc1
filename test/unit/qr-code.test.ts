// The setup page's QR code scans: the SVG made on the server is drawn to pixels here and read back
// with a QR decoder (jsQR), which must find exactly the otpauth:// URI.
import jsQR from "jsqr";
import { describe, expect, it } from "vitest";
import { renderQrSvg } from "~/server/qr-code.server";
import { generateTotpSecret, totpKeyUri } from "~/server/totp.server";

/**
 * Rasterises the SVG uqr writes (a white <rect> and one <path> of unit squares "Mx,yhNvNh-Nz") at one
 * pixel per SVG unit. Any other shape in the SVG fails the test rather than being skipped.
 */
function rasterise(svg: string): { pixels: Uint8ClampedArray; size: number } {
  const viewBox = /viewBox="0 0 (\d+) (\d+)"/.exec(svg);
  const d = /<path[^>]* d="([^"]*)"/.exec(svg);
  if (!viewBox || !d || viewBox[1] !== viewBox[2]) throw new Error("unexpected SVG shape");
  const size = Number(viewBox[1]);
  const pixels = new Uint8ClampedArray(size * size * 4).fill(255);
  const squares = d[1].match(/M\d+,\d+h\d+v\d+h-\d+z/g) ?? [];
  expect(squares.join("")).toBe(d[1]);
  for (const square of squares) {
    const [x, y, w] = square.match(/\d+/g)!.map(Number);
    for (let row = y; row < y + w; row++) {
      for (let col = x; col < x + w; col++) {
        const i = (row * size + col) * 4;
        pixels[i] = pixels[i + 1] = pixels[i + 2] = 0;
      }
    }
  }
  return { pixels, size };
}

describe("QR code of the setup page", () => {
  it("decodes to the exact otpauth:// URI", () => {
    const uri = totpKeyUri("Client Portal", "anne.o'neil+tax@firm.test", generateTotpSecret());
    const svg = renderQrSvg(uri);
    const { pixels, size } = rasterise(svg);
    const decoded = jsQR(pixels, size, size);
    expect(decoded?.data).toBe(uri);
  });

  it("is a plain SVG: no script, no style, no event handler (the CSP allows neither inline)", () => {
    const svg = renderQrSvg("otpauth://totp/x?secret=ABC");
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).not.toMatch(/<script|style=|<style|\son[a-z]+=/i);
  });
});
