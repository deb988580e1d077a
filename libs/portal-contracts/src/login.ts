/** Body of the simulator's `POST v2.2/login` (a small stand-in for the portal's Log In API). */
export interface LoginRequest {
  account: string;
  password: string;
}

/** Body of `POST v2.2/session/set` (Choose Organization), sent with `Authorization: Bearer <login token>`. */
export interface SessionSetRequest {
  orgId: string;
}

/** `data` of a login or session/set answer. The token is an RS256 JWT with `sub`, `orgId` (after session/set) and `exp`. */
export interface UserTokenData {
  accessToken: string;
  expire: number;
}
