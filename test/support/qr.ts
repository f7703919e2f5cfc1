// Reads a QR code SVG back to text: rasterises the SVG uqr writes (a white <rect> and one <path> of
// squares "Mx,yhNvNh-Nz") at one pixel per SVG unit, then decodes the pixels with jsQR. Any other
// shape in the SVG throws rather than being skipped. Pure TypeScript: used in workerd and in Playwright.
import jsQR from "jsqr";

export function rasteriseQrSvg(svg: string): { pixels: Uint8ClampedArray; size: number } {
  const viewBox = /viewBox="0 0 (\d+) (\d+)"/.exec(svg);
  const d = /<path[^>]* d="([^"]*)"/.exec(svg);
  if (!viewBox || !d || viewBox[1] !== viewBox[2]) throw new Error("unexpected SVG shape");
  const size = Number(viewBox[1]);
  const pixels = new Uint8ClampedArray(size * size * 4).fill(255);
  const squares = d[1].match(/M\d+,\d+h\d+v\d+h-\d+z/g) ?? [];
  if (squares.join("") !== d[1]) throw new Error("unexpected path commands in the QR SVG");
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

/** The text of the QR code, or null when no decoder could read it. */
export function decodeQrSvg(svg: string): string | null {
  const { pixels, size } = rasteriseQrSvg(svg);
  return jsQR(pixels, size, size)?.data ?? null;
}
