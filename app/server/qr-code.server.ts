// QR codes drawn on the server as SVG (uqr: no canvas, no DOM, runs in workerd), so the setup page
// needs no script and the CSP stays strict. The SVG carries only attributes, no style or script.
import { renderSVG } from "uqr";

/** A four-module quiet zone, as the QR standard asks; some phone scanners fail with less. */
const QR_BORDER = 4;
/** Medium error correction: a little more robust on screens with glare, still a small code for an otpauth URI. */
const QR_ECC = "M" as const;

export function renderQrSvg(text: string): string {
  return renderSVG(text, { border: QR_BORDER, ecc: QR_ECC, pixelSize: 8 });
}

