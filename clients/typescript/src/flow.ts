// Drives the generated TypeScript client against a running API (make check-clients):
// register -> login -> profile -> a page of users -> a 422. Usage: node dist/flow.js BASE_URL
// ADMIN_USERNAME ADMIN_PASSWORD. Compiling it is the type-check of the generated names.
import { createClient } from "./generated/client";
import {
  authLogin,
  authRegister,
  profileRead,
  usersList,
  type ErrorResponse,
  type UserPage,
} from "./generated";

function check(condition: boolean, what: string): asserts condition {
  if (!condition) throw new Error(`client flow: ${what}`);
}

async function signIn(baseUrl: string, username: string, password: string) {
  const client = createClient({ baseUrl });
  const { data, response } = await authLogin({ client, body: { username, password } });
  // An account with two-factor sign-in answers a challenge instead (POST /auth/login/2fa).
  check(response.status === 200 && data !== undefined && "access_token" in data, `login of ${username}`);
  return createClient({ baseUrl, auth: data.access_token });
}

async function main(): Promise<void> {
  const [baseUrl, adminUsername, adminPassword] = process.argv.slice(2);
  check(!!baseUrl && !!adminUsername && !!adminPassword, "usage: flow.js BASE ADMIN PASSWORD");
  const anonymous = createClient({ baseUrl });
  const name = `ts_${Date.now()}`;
  const password = "Correct-Horse-9-battery";

  const registered = await authRegister({
    client: anonymous,
    body: { email: `${name}@example.com`, username: name, password },
  });
  check(registered.response.status === 201, `register: ${registered.response.status}`);

  const user = await signIn(baseUrl, name, password);
  const profile = await profileRead({ client: user });
  check(profile.data?.username === name, "profile is the new user's");

  const admin = await signIn(baseUrl, adminUsername, adminPassword);
  const page = await usersList({ client: admin, query: { per_page: 1 } });
  const users: UserPage | undefined = page.data;
  check(users !== undefined && users.items.length === 1 && users.total >= 2, "a page of users");

  const invalid = await authRegister({
    client: anonymous,
    body: { email: "not-an-email", username: name, password },
  });
  const error: ErrorResponse | undefined = invalid.error as ErrorResponse | undefined;
  check(invalid.response.status === 422 && typeof error?.detail !== "undefined", "a 422");
  console.log("typescript client: register, login, profile, users page, 422: ok");
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
