import { createContext, useContext } from "react";

/** The CSP nonce of this response, for the few inline scripts Remix writes. Empty in the browser. */
export const NonceContext = createContext("");

export function useNonce(): string {
  return useContext(NonceContext);
}
