// herald-interop (JavaScript): drives Clever Cloud's own, unmodified JavaScript client
// (npm `@clevercloud/client`, version pinned in package.json) against a running Herald API and
// checks that its notification commands round-trip: the notification info (events, meta-events,
// webhook formats), webhooks and e-mail hooks created, listed and deleted, the default
// "Default deployment result e-mails" hook, bad tokens and another owner's hooks.
// The wire contract is docs/faces.md, "Clever Cloud".
//
// How the client is pointed at Herald (read in node_modules/@clevercloud/client/src):
//   new CcApiClient({ baseUrl, authMethod: { type: "api-token", apiToken } }) — every command
//   goes to `${baseUrl}/v2/notifications/...` with `Authorization: Bearer <apiToken>`
//   (lib/auth/cc-auth-api-token.js). A non-2xx answer rejects with CcHttpError (`statusCode`),
//   except the list commands, which read a 404 as an empty list.
//
// Configuration (environment):
//   HERALD_API_URL          Herald's base URL (e.g. http://127.0.0.1:8080)
//   HERALD_API_TOKEN        a Herald API token for the owner (its owner token, or an admin one)
//   HERALD_OWNER_ID         a registered owner (PUT /v1/owners/{owner}) with its default hook
//   HERALD_APP_ID           an app of that owner (used as a hook scope)
//   HERALD_FOREIGN_OWNER_ID a registered owner the token must NOT see
// Output: one "ok   <step>: <detail>" line per step; on the first failure one
// "FAIL <step>: <reason>" line, then what was created is removed and the exit code is 1.
// Exit 2 is a usage error. The last line of a good run starts with "PASS".

import { readFileSync } from "node:fs";
import process from "node:process";

import { CcApiClient } from "@clevercloud/client/cc-api-client.js";
import { CreateEmailNotificationCommand } from "@clevercloud/client/cc-api-commands/notification/create-email-notification-command.js";
import { CreateWebhookNotificationCommand } from "@clevercloud/client/cc-api-commands/notification/create-webhook-notification-command.js";
import { DeleteEmailNotificationCommand } from "@clevercloud/client/cc-api-commands/notification/delete-email-notification-command.js";
import { DeleteWebhookNotificationCommand } from "@clevercloud/client/cc-api-commands/notification/delete-webhook-notification-command.js";
import { GetNotificationInfoCommand } from "@clevercloud/client/cc-api-commands/notification/get-notification-info-command.js";
import { ListEmailNotificationCommand } from "@clevercloud/client/cc-api-commands/notification/list-email-notification-command.js";
import { ListWebhookNotificationCommand } from "@clevercloud/client/cc-api-commands/notification/list-webhook-notification-command.js";

// The package's `exports` do not list package.json: read it from node_modules.
const CLIENT_VERSION = JSON.parse(
  readFileSync(new URL("./node_modules/@clevercloud/client/package.json", import.meta.url), "utf8"),
).version;

const RAW_URL = "https://hooks.example.com/herald-cc-interop";
const SLACK_URL = "https://hooks.slack.com/services/T0000/B0000/herald-cc-interop";
const DEFAULT_HOOK = "Default deployment result e-mails";

class StepFailure extends Error {}

function fail(message) {
  throw new StepFailure(message);
}

function check(condition, message) {
  if (!condition) fail(message);
}

function describe(error) {
  if (error instanceof StepFailure) return error.message;
  if (error && typeof error.statusCode === "number") {
    return `CcHttpError status=${error.statusCode} code=${error.code} message=${JSON.stringify(error.message)}`;
  }
  if (error && error.code) return `${error.code}: ${error.message}${error.cause ? ` (${error.cause})` : ""}`;
  return String(error && error.stack ? error.stack : error);
}

async function expectHttpError(promise, status, what) {
  let result;
  try {
    result = await promise;
  } catch (error) {
    if (error && error.statusCode === status) return error;
    fail(`${what}: want the client's CcHttpError status ${status}, got ${describe(error)}`);
  }
  return fail(`${what}: want CcHttpError ${status}, but it succeeded: ${JSON.stringify(result)}`);
}

function env(name) {
  const value = process.env[name];
  if (!value) {
    console.log(`usage: ${name} is required`);
    process.exit(2);
  }
  return value;
}

const baseUrl = env("HERALD_API_URL");
const token = env("HERALD_API_TOKEN");
const ownerId = env("HERALD_OWNER_ID");
const appId = env("HERALD_APP_ID");
const foreignOwnerId = env("HERALD_FOREIGN_OWNER_ID");

function clientWith(apiToken) {
  return new CcApiClient({
    baseUrl,
    authMethod: { type: "api-token", apiToken },
    defaultRequestConfig: { timeout: 10_000 },
  });
}

const created = { webhooks: [], emailhooks: [] };

async function step(name, body) {
  const detail = await body();
  console.log(`ok   ${name}: ${detail}`);
}

async function cleanUp(client) {
  for (const id of created.webhooks) {
    await client.send(new DeleteWebhookNotificationCommand({ ownerId, webhookNotificationId: id })).catch(() => {});
  }
  for (const id of created.emailhooks) {
    await client.send(new DeleteEmailNotificationCommand({ ownerId, emailNotificationId: id })).catch(() => {});
  }
}

async function main() {
  const client = clientWith(token);
  let current = "client.new";
  const run = async (name, body) => {
    current = name;
    await step(name, body);
  };
  try {
    await run("client.new", async () => `@clevercloud/client ${CLIENT_VERSION} → ${baseUrl}`);

    await run("auth.rejects_bad_token", async () => {
      const stranger = clientWith("hrld_not-a-token");
      await expectHttpError(
        stranger.send(new CreateWebhookNotificationCommand({ ownerId, urls: [{ format: "raw", url: RAW_URL }] })),
        401,
        "create with a bad token",
      );
      return "401";
    });

    await run("info.get", async () => {
      const info = await client.send(new GetNotificationInfoCommand());
      for (const format of ["raw", "slack", "flowdock", "gitter"]) {
        check(info.formats.includes(format), `formats ${JSON.stringify(info.formats)} lack ${format}`);
      }
      for (const event of ["DEPLOYMENT_SUCCESS", "DEPLOYMENT_FAIL", "GIT_PUSH", "CREDITS_ADDED"]) {
        check(info.events.includes(event), `events lack ${event}`);
      }
      const results = [...info.metaEvents.META_DEPLOYMENT_RESULT].sort();
      check(
        JSON.stringify(results) === JSON.stringify(["DEPLOYMENT_FAIL", "DEPLOYMENT_SUCCESS"]),
        `META_DEPLOYMENT_RESULT is ${JSON.stringify(results)}`,
      );
      for (const meta of ["META_SERVICE_LIFECYCLE", "META_SERVICE_MANAGEMENT", "META_CREDITS"]) {
        check(Array.isArray(info.metaEvents[meta]) && info.metaEvents[meta].length > 0, `${meta} is empty`);
      }
      return `${info.events.length} events, formats ${info.formats.join(",")}`;
    });

    let defaultHook;
    await run("emailhooks.list_default", async () => {
      const hooks = await client.send(new ListEmailNotificationCommand({ ownerId }));
      defaultHook = hooks.find((h) => h.name === DEFAULT_HOOK);
      check(defaultHook, `no "${DEFAULT_HOOK}" in ${JSON.stringify(hooks)}`);
      check(defaultHook.ownerId === ownerId, `ownerId ${defaultHook.ownerId}`);
      check(JSON.stringify(defaultHook.targets) === JSON.stringify([{ type: "organisation" }]), `targets ${JSON.stringify(defaultHook.targets)}`);
      check(JSON.stringify(defaultHook.events) === JSON.stringify(["META_DEPLOYMENT_RESULT"]), `events ${JSON.stringify(defaultHook.events)}`);
      check(defaultHook.createdAt, "no createdAt");
      return defaultHook.id;
    });

    let webhook;
    await run("webhooks.create", async () => {
      webhook = await client.send(
        new CreateWebhookNotificationCommand({
          ownerId,
          name: "deploys",
          urls: [
            { format: "raw", url: RAW_URL },
            { format: "slack", url: SLACK_URL },
          ],
          events: ["META_DEPLOYMENT_RESULT"],
          scope: [appId],
        }),
      );
      check(webhook.id, `no id in ${JSON.stringify(webhook)}`);
      created.webhooks.push(webhook.id);
      check(webhook.urls.length === 2 && webhook.urls[1].format === "slack", `urls ${JSON.stringify(webhook.urls)}`);
      check(JSON.stringify(webhook.scope) === JSON.stringify([appId]), `scope ${JSON.stringify(webhook.scope)}`);
      return webhook.id;
    });

    await run("webhooks.list", async () => {
      const hooks = await client.send(new ListWebhookNotificationCommand({ ownerId }));
      const found = hooks.find((h) => h.id === webhook.id);
      check(found, `${webhook.id} not in ${JSON.stringify(hooks)}`);
      check(found.state === "ENABLED", `state ${found.state}`);
      check(Array.isArray(found.failures) && found.failures.length === 0, `failures ${JSON.stringify(found.failures)}`);
      check(JSON.stringify(found.events) === JSON.stringify(["META_DEPLOYMENT_RESULT"]), `events ${JSON.stringify(found.events)}`);
      check(found.urls.map((u) => u.url).join(" ") === `${RAW_URL} ${SLACK_URL}`, `urls ${JSON.stringify(found.urls)}`);
      return `${hooks.length} webhook(s)`;
    });

    let emailhook;
    await run("emailhooks.create", async () => {
      emailhook = await client.send(
        new CreateEmailNotificationCommand({
          ownerId,
          name: "failures to ops",
          targets: [
            { type: "email", emailAddresses: ["ops@example.com", "cto@example.com"] },
            { type: "organisation" },
            { type: "user" },
          ],
          events: ["DEPLOYMENT_FAIL"],
          scope: [appId],
        }),
      );
      check(emailhook.id, `no id in ${JSON.stringify(emailhook)}`);
      created.emailhooks.push(emailhook.id);
      const types = emailhook.targets.map((t) => t.type).join(",");
      check(types === "email,organisation,user", `targets ${JSON.stringify(emailhook.targets)}`);
      const email = emailhook.targets.find((t) => t.type === "email");
      check(email.emailAddresses.join(",") === "ops@example.com,cto@example.com", `addresses ${JSON.stringify(email)}`);
      return emailhook.id;
    });

    await run("emailhooks.list", async () => {
      const hooks = await client.send(new ListEmailNotificationCommand({ ownerId }));
      const ids = hooks.map((h) => h.id);
      check(ids.includes(emailhook.id) && ids.includes(defaultHook.id), `ids ${JSON.stringify(ids)}`);
      const found = hooks.find((h) => h.id === emailhook.id);
      check(JSON.stringify(found.scope) === JSON.stringify([appId]), `scope ${JSON.stringify(found.scope)}`);
      return `${hooks.length} e-mail hook(s)`;
    });

    await run("foreign.list", async () => {
      const hooks = await client.send(new ListWebhookNotificationCommand({ ownerId: foreignOwnerId }));
      check(Array.isArray(hooks) && hooks.length === 0, `another owner's hooks: ${JSON.stringify(hooks)}`);
      return "404, read as an empty list";
    });

    await run("foreign.create", async () => {
      await expectHttpError(
        client.send(new CreateWebhookNotificationCommand({ ownerId: foreignOwnerId, urls: [{ format: "raw", url: RAW_URL }] })),
        404,
        "create on another owner",
      );
      return "404";
    });

    await run("webhooks.create_invalid", async () => {
      await expectHttpError(
        client.send(new CreateWebhookNotificationCommand({ ownerId, urls: [{ format: "teams", url: RAW_URL }], events: ["NOPE"] })),
        422,
        "an invalid hook",
      );
      return "422";
    });

    await run("webhooks.delete", async () => {
      await client.send(new DeleteWebhookNotificationCommand({ ownerId, webhookNotificationId: webhook.id }));
      created.webhooks = created.webhooks.filter((id) => id !== webhook.id);
      const hooks = await client.send(new ListWebhookNotificationCommand({ ownerId }));
      check(!hooks.some((h) => h.id === webhook.id), `${webhook.id} still listed`);
      return webhook.id;
    });

    await run("emailhooks.delete", async () => {
      for (const id of [emailhook.id, defaultHook.id]) {
        await client.send(new DeleteEmailNotificationCommand({ ownerId, emailNotificationId: id }));
      }
      created.emailhooks = [];
      const hooks = await client.send(new ListEmailNotificationCommand({ ownerId }));
      check(hooks.length === 0, `left: ${JSON.stringify(hooks)}`);
      return "the custom and the default hook";
    });

    await run("emailhooks.delete_gone", async () => {
      await expectHttpError(
        client.send(new DeleteEmailNotificationCommand({ ownerId, emailNotificationId: defaultHook.id })),
        404,
        "deleting a deleted hook",
      );
      return "404";
    });
  } catch (error) {
    console.log(`FAIL ${current}: ${describe(error)}`);
    await cleanUp(client);
    process.exit(1);
  }
  console.log(`PASS @clevercloud/client ${CLIENT_VERSION}: every notification command round-trips`);
}

await main();
