// herald-interop (JavaScript): drives Scalingo's own, unmodified JavaScript client (npm `scalingo`,
// version pinned in package.json) against a running Herald API and checks that every notifier,
// platform, event type, event category and token exchange call it makes round-trips.
// The wire contract is docs/scalingo-compat.md.
//
// How the client is pointed at Herald (read in node_modules/scalingo/src/index.ts):
//   new Client(token, { apiUrl, authApiUrl })  — every call goes to `${apiUrl}/v1/...`;
//   clientFromToken(token, { apiUrl, authApiUrl }) first sends
//     POST `${authApiUrl}/v1/tokens/exchange`, body {}, Authorization: Basic base64(":" + token)
//   and uses the `token` member of the answer as the Bearer of every later call.
//   Platforms, event types and categories are fetched with no Authorization header.
//   Any non-2xx answer rejects with APIError { status, data (the parsed body) }.
//
// Configuration (environment):
//   HERALD_API_URL     Herald's base URL, without /v1 (e.g. http://127.0.0.1:8080)
//   HERALD_AUTH_URL    base URL of POST /v1/tokens/exchange (default: HERALD_API_URL)
//   HERALD_API_TOKEN   a Herald API token allowed to manage the app's notifiers
//   HERALD_APP_ID      the app whose notifiers are created and destroyed
//   HERALD_AUTH_MODE   "exchange" (default: clientFromToken swaps the token for a JWT) or
//                      "static" (new Client(token): the token itself is the Bearer)
// Scenarios (argv[2]):
//   notifiers (default)  the whole notifier life cycle above.
//   foreign-app          HERALD_APP_ID is an app the token must NOT see, and
//                        HERALD_FOREIGN_NOTIFIER_ID one of its notifiers; every notifier call
//                        must answer the client's not-found error (APIError 404, resource "app").
//   notifier-test        Notifiers.test (POST .../notifiers/{id}/test) on a new webhook notifier.
//
// Output: one "ok   <step>: <detail>" line per step; on the first failure one
// "FAIL <step>: <reason>" line, then what was created is removed and the exit code is 1.
// Exit 2 is a usage error. The last line of a good run starts with "PASS".

import { createRequire } from "node:module";
import process from "node:process";

import { Client, clientFromToken } from "scalingo";

const require = createRequire(import.meta.url);
const CLIENT_VERSION = require("scalingo/package.json").version;
const DEADLINE_MS = 60_000;

const WEBHOOK_URL = "https://hooks.example.com/herald-interop";
const SLACK_URL = "https://hooks.slack.com/services/T0000/B0000/herald-interop";
const EVENT = "app_deployed";
const UPDATE_EVENT = "app_restarted";

class StepFailure extends Error {}

function fail(message) {
  throw new StepFailure(message);
}

function check(condition, message) {
  if (!condition) fail(message);
}

/** An error of the client, readably: APIError carries the status and the parsed body. */
function describe(error) {
  if (error instanceof StepFailure) return error.message;
  if (error && typeof error.status === "number" && "data" in error) {
    return `APIError status=${error.status} message=${JSON.stringify(error.message)} body=${JSON.stringify(error.data)}`;
  }
  if (error && error.code) return `${error.code}: ${error.message}`;
  return String(error && error.stack ? error.stack : error);
}

function isApiError(error, status) {
  return Boolean(error) && error.status === status && "data" in error;
}

/** Awaits `promise`, which must reject with the client's APIError `status`; returns that error. */
async function expectApiError(promise, status, what) {
  let result;
  try {
    result = await promise;
  } catch (error) {
    if (isApiError(error, status)) return error;
    fail(`${what}: want the client's APIError status ${status}, got ${describe(error)}`);
  }
  return fail(`${what}: want the client's APIError status ${status}, but it succeeded: ${JSON.stringify(result)}`);
}

function sameSet(a, b) {
  return a.length === b.length && [...a].sort().join("\n") === [...b].sort().join("\n");
}

function readConfig(env) {
  const trim = (url) => (url || "").replace(/\/+$/, "");
  const cfg = {
    apiUrl: trim(env.HERALD_API_URL),
    authUrl: trim(env.HERALD_AUTH_URL || env.HERALD_API_URL),
    token: env.HERALD_API_TOKEN || "",
    app: env.HERALD_APP_ID || "",
    authMode: env.HERALD_AUTH_MODE || "exchange",
    foreignNotifier: env.HERALD_FOREIGN_NOTIFIER_ID || "",
    scenario: process.argv[2] || "notifiers",
  };
  const missing = [
    ["HERALD_API_URL", cfg.apiUrl],
    ["HERALD_API_TOKEN", cfg.token],
    ["HERALD_APP_ID", cfg.app],
  ]
    .filter(([, value]) => !value)
    .map(([name]) => name);
  if (cfg.scenario === "foreign-app" && !cfg.foreignNotifier) missing.push("HERALD_FOREIGN_NOTIFIER_ID");
  if (missing.length) return [cfg, `missing ${missing.join(", ")} in the environment`];
  if (!["exchange", "static"].includes(cfg.authMode)) {
    return [cfg, `HERALD_AUTH_MODE must be exchange or static, not ${JSON.stringify(cfg.authMode)}`];
  }
  if (!Object.hasOwn(SCENARIOS, cfg.scenario)) {
    return [cfg, `unknown scenario ${JSON.stringify(cfg.scenario)} (${Object.keys(SCENARIOS).join(" | ")})`];
  }
  return [cfg, null];
}

class Runner {
  constructor(cfg) {
    this.cfg = cfg;
    this.step = "start";
    this.client = null;
    this.created = []; // notifier ids still to destroy
    this.platforms = {};
    this.eventIds = {};
  }

  ok(detail) {
    console.log(`ok   ${(this.step + ":").padEnd(28)} ${detail}`);
  }

  async run(steps) {
    for (const [name, fn] of steps) {
      this.step = name;
      await fn.call(this);
    }
  }

  /** Destroys what a failed run left behind. */
  async cleanup() {
    if (!this.client) return;
    this.step = "cleanup";
    for (const id of this.created.splice(0)) {
      try {
        await this.client.Notifiers.destroy(this.cfg.app, id);
        this.ok(`destroyed ${id}`);
      } catch (error) {
        console.log(`warn cleanup: destroy ${id}: ${describe(error)}`);
      }
    }
  }

  options() {
    return { apiUrl: this.cfg.apiUrl, authApiUrl: this.cfg.authUrl };
  }

  // --- steps ------------------------------------------------------------------------------

  async newClient() {
    if (this.cfg.authMode === "static") {
      this.client = new Client(this.cfg.token, this.options());
      this.ok(`static Bearer token, API ${this.cfg.apiUrl}/v1`);
      return;
    }
    try {
      this.client = await clientFromToken(this.cfg.token, this.options());
    } catch (error) {
      fail(`token exchange at ${this.cfg.authUrl}/v1/tokens/exchange: ${describe(error)}`);
    }
    const bearer = this.client._token;
    check(
      typeof bearer === "string" && bearer.split(".").length === 3,
      `the exchange must answer {"token": "<JWT>"}, the client got ${JSON.stringify(bearer)}`,
    );
    check(bearer !== this.cfg.token, "the exchange answered the API token itself, not a JWT");
    this.ok(`token exchanged for a JWT at ${this.cfg.authUrl}/v1/tokens/exchange`);
  }

  async rejectsBadToken() {
    const error = await expectApiError(
      clientFromToken("herald-interop-not-a-valid-token", this.options()),
      401,
      "POST /v1/tokens/exchange with an invalid token",
    );
    check(
      typeof error.data?.error === "string" && error.message === error.data.error,
      `a 401 must carry a JSON {"error": "..."} for the client's message; body ${JSON.stringify(error.data)}`,
    );
    const bad = new Client("herald-interop-not-a-valid-token", this.options());
    await expectApiError(bad.Notifiers.for(this.cfg.app), 401, "GET /v1/apps/{app}/notifiers with an invalid Bearer");
    this.ok(`invalid token answered 401 (${JSON.stringify(error.message)})`);
  }

  async listPlatforms() {
    const platforms = await this.client.NotificationPlatforms.list();
    check(Array.isArray(platforms) && platforms.length > 0, `want a non-empty array, got ${JSON.stringify(platforms)}`);
    for (const p of platforms) {
      check(
        p && typeof p.id === "string" && p.id && typeof p.name === "string" && p.name,
        `platform without id or name: ${JSON.stringify(p)}`,
      );
      check(Array.isArray(p.available_event_ids), `platform ${p.name}: available_event_ids must be an array`);
      this.platforms[p.name] = p;
    }
    const names = platforms.map((p) => p.name);
    check(this.platforms.webhook && this.platforms.slack, `want platforms named webhook and slack, got ${names}`);
    this.ok(`${platforms.length} platforms [${names.join(" ")}]`);
  }

  async listEventTypes() {
    const types = await this.client.Events.listEventTypes();
    check(Array.isArray(types) && types.length > 0, `want a non-empty array, got ${JSON.stringify(types)}`);
    for (const t of types) {
      check(
        t && t.id && t.name && t.category_id,
        `event type without id, name or category_id: ${JSON.stringify(t)}`,
      );
      this.eventIds[t.name] = t.id;
    }
    this.eventTypes = types;
    for (const name of [EVENT, UPDATE_EVENT]) {
      check(this.eventIds[name], `want an event type named ${name} among ${types.length}`);
      for (const platform of [this.platforms.webhook, this.platforms.slack]) {
        check(
          platform.available_event_ids.includes(this.eventIds[name]),
          `platform ${platform.name}: available_event_ids lacks ${name} (${this.eventIds[name]})`,
        );
      }
    }
    this.ok(`${types.length} event types; ${EVENT}=${this.eventIds[EVENT]}, ${UPDATE_EVENT}=${this.eventIds[UPDATE_EVENT]}`);
  }

  async listEventCategories() {
    const categories = await this.client.Events.listEventCategories();
    check(Array.isArray(categories) && categories.length > 0, `want a non-empty array, got ${JSON.stringify(categories)}`);
    for (const c of categories) {
      check(
        c && c.id && c.name && Number.isInteger(c.position),
        `event category without id, name or an integer position: ${JSON.stringify(c)}`,
      );
    }
    const ids = new Set(categories.map((c) => c.id));
    const deployed = this.eventTypes.find((t) => t.name === EVENT);
    check(ids.has(deployed.category_id), `${EVENT}'s category_id ${deployed.category_id} is not a listed category`);
    this.ok(`${categories.length} event categories; ${EVENT} in ${deployed.category_id}`);
  }

  async provision(platformName, name, url) {
    const platform = this.platforms[platformName];
    const notifier = await this.client.Notifiers.create(this.cfg.app, {
      platform_id: platform.id,
      name,
      active: true,
      send_all_events: false,
      send_all_alerts: false,
      selected_event_ids: [this.eventIds[EVENT]],
      type_data: { webhook_url: url },
    });
    check(notifier && typeof notifier.id === "string" && notifier.id, `want {"notifier": {...}} with an id, got ${JSON.stringify(notifier)}`);
    this.created.push(notifier.id);
    const want = {
      app_id: this.cfg.app,
      name,
      type: platform.name,
      platform_id: platform.id,
      active: true,
      send_all_events: false,
      send_all_alerts: false,
    };
    for (const [key, value] of Object.entries(want)) {
      check(notifier[key] === value, `${key}: want ${JSON.stringify(value)}, got ${JSON.stringify(notifier[key])}`);
    }
    check(sameSet(notifier.selected_event_ids || [], [this.eventIds[EVENT]]), `selected_event_ids: got ${JSON.stringify(notifier.selected_event_ids)}`);
    check(notifier.type_data?.webhook_url === url, `type_data.webhook_url: got ${JSON.stringify(notifier.type_data)}`);
    for (const key of ["created_at", "updated_at"]) {
      check(!Number.isNaN(Date.parse(notifier[key])), `${key}: not a date: ${JSON.stringify(notifier[key])}`);
    }
    return notifier;
  }

  async provisionWebhook() {
    this.webhook = await this.provision("webhook", "herald-interop js webhook", WEBHOOK_URL);
    this.ok(`created ${this.webhook.id} (type ${this.webhook.type})`);
  }

  async provisionSlack() {
    this.slack = await this.provision("slack", "herald-interop js slack", SLACK_URL);
    this.ok(`created ${this.slack.id} (type ${this.slack.type})`);
  }

  async listBoth() {
    const notifiers = await this.client.Notifiers.for(this.cfg.app);
    check(Array.isArray(notifiers), `want an array, got ${JSON.stringify(notifiers)}`);
    const ids = notifiers.map((n) => n.id);
    for (const mine of [this.webhook, this.slack]) {
      check(ids.includes(mine.id), `${mine.type} notifier ${mine.id} missing from the list ${JSON.stringify(ids)}`);
    }
    this.ok(`${notifiers.length} notifiers, both present`);
  }

  async show() {
    const shown = await this.client.Notifiers.get(this.cfg.app, this.webhook.id);
    for (const key of ["id", "app_id", "name", "type", "platform_id", "active", "created_at"]) {
      check(shown?.[key] === this.webhook[key], `${key}: want ${JSON.stringify(this.webhook[key])}, got ${JSON.stringify(shown?.[key])}`);
    }
    check(sameSet(shown.selected_event_ids, this.webhook.selected_event_ids), `selected_event_ids: got ${JSON.stringify(shown.selected_event_ids)}`);
    check(shown.type_data?.webhook_url === WEBHOOK_URL, `type_data: got ${JSON.stringify(shown.type_data)}`);
    this.ok(`${shown.id} "${shown.name}" active=${shown.active} events=${shown.selected_event_ids}`);
  }

  async update() {
    this.wanted = {
      name: "herald-interop js webhook (renamed)",
      active: false,
      selected_event_ids: [this.eventIds[EVENT], this.eventIds[UPDATE_EVENT]],
    };
    const updated = await this.client.Notifiers.update(this.cfg.app, this.webhook.id, this.wanted);
    this.checkUpdated(updated, "answer");
    this.ok(`${updated.id} "${updated.name}" active=${updated.active} events=${updated.selected_event_ids}`);
  }

  checkUpdated(notifier, what) {
    check(notifier?.id === this.webhook.id, `${what}: id ${JSON.stringify(notifier?.id)}`);
    check(notifier.name === this.wanted.name, `${what}: name ${JSON.stringify(notifier.name)}`);
    check(notifier.active === false, `${what}: active ${JSON.stringify(notifier.active)}, want false`);
    check(sameSet(notifier.selected_event_ids, this.wanted.selected_event_ids), `${what}: selected_event_ids ${JSON.stringify(notifier.selected_event_ids)}`);
    check(
      notifier.type_data?.webhook_url === WEBHOOK_URL,
      `${what}: type_data.webhook_url must be kept when the update sends no type_data, got ${JSON.stringify(notifier.type_data)}`,
    );
    check(notifier.platform_id === this.webhook.platform_id && notifier.type === "webhook", `${what}: platform changed: ${JSON.stringify(notifier)}`);
  }

  async showUpdated() {
    const shown = await this.client.Notifiers.get(this.cfg.app, this.webhook.id);
    this.checkUpdated(shown, "GET after PATCH");
    check(Date.parse(shown.updated_at) >= Date.parse(shown.created_at), `updated_at ${shown.updated_at} before created_at ${shown.created_at}`);
    this.ok(`changes visible, webhook_url kept (${shown.type_data.webhook_url})`);
  }

  async destroy() {
    await this.client.Notifiers.destroy(this.cfg.app, this.webhook.id);
    this.created = this.created.filter((id) => id !== this.webhook.id);
    this.ok(`destroyed ${this.webhook.id}`);
  }

  async showDestroyed() {
    const error = await expectApiError(
      this.client.Notifiers.get(this.cfg.app, this.webhook.id),
      404,
      `GET the destroyed notifier ${this.webhook.id}`,
    );
    this.ok(`404 (${JSON.stringify(error.message)}, resource ${JSON.stringify(error.data?.resource)})`);
  }

  async destroySlack() {
    await this.client.Notifiers.destroy(this.cfg.app, this.slack.id);
    this.created = this.created.filter((id) => id !== this.slack.id);
    const ids = (await this.client.Notifiers.for(this.cfg.app)).map((n) => n.id);
    check(!ids.includes(this.webhook.id) && !ids.includes(this.slack.id), `still listed after destroy: ${JSON.stringify(ids)}`);
    this.ok(`destroyed ${this.slack.id}; neither is listed any more`);
  }

  async testNotifier() {
    // POST /v1/apps/{app}/notifiers/{id}/test, no body: Scalingo's docs give no answer body.
    await this.client.Notifiers.test(this.cfg.app, this.webhook.id);
    this.ok(`test notification requested for ${this.webhook.id}`);
  }

  // --- the foreign-app scenario -----------------------------------------------------------

  async expectAppNotFound(promise, what) {
    const error = await expectApiError(promise, 404, what);
    check(
      error.data?.resource === "app" && typeof error.data?.error === "string",
      `${what}: want a 404 body {"resource": "app", "error": ...}, got ${JSON.stringify(error.data)}`,
    );
    this.ok(`404 ${JSON.stringify(error.message)}`);
  }

  async foreignList() {
    await this.expectAppNotFound(this.client.Notifiers.for(this.cfg.app), `list the notifiers of ${this.cfg.app}`);
  }

  async foreignShow() {
    await this.expectAppNotFound(
      this.client.Notifiers.get(this.cfg.app, this.cfg.foreignNotifier),
      `show notifier ${this.cfg.foreignNotifier} of ${this.cfg.app}`,
    );
  }

  async foreignProvision() {
    await this.expectAppNotFound(
      this.client.Notifiers.create(this.cfg.app, {
        platform_id: "webhook",
        name: "herald-interop intruder",
        type_data: { webhook_url: WEBHOOK_URL },
      }),
      `create a notifier in ${this.cfg.app}`,
    );
  }

  async foreignUpdate() {
    await this.expectAppNotFound(
      this.client.Notifiers.update(this.cfg.app, this.cfg.foreignNotifier, { name: "herald-interop hijacked", active: false }),
      `update notifier ${this.cfg.foreignNotifier} of ${this.cfg.app}`,
    );
  }

  async foreignDestroy() {
    await this.expectAppNotFound(
      this.client.Notifiers.destroy(this.cfg.app, this.cfg.foreignNotifier),
      `destroy notifier ${this.cfg.foreignNotifier} of ${this.cfg.app}`,
    );
  }
}

const SCENARIOS = {
  notifiers: [
    ["client.new", Runner.prototype.newClient],
    ["auth.rejects_bad_token", Runner.prototype.rejectsBadToken],
    ["platforms.list", Runner.prototype.listPlatforms],
    ["event_types.list", Runner.prototype.listEventTypes],
    ["event_categories.list", Runner.prototype.listEventCategories],
    ["notifiers.provision_webhook", Runner.prototype.provisionWebhook],
    ["notifiers.provision_slack", Runner.prototype.provisionSlack],
    ["notifiers.list", Runner.prototype.listBoth],
    ["notifiers.show", Runner.prototype.show],
    ["notifiers.update", Runner.prototype.update],
    ["notifiers.show_updated", Runner.prototype.showUpdated],
    ["notifiers.destroy", Runner.prototype.destroy],
    ["notifiers.show_destroyed", Runner.prototype.showDestroyed],
    ["notifiers.destroy_slack", Runner.prototype.destroySlack],
  ],
  "notifier-test": [
    ["client.new", Runner.prototype.newClient],
    ["platforms.list", Runner.prototype.listPlatforms],
    ["event_types.list", Runner.prototype.listEventTypes],
    ["notifiers.provision_webhook", Runner.prototype.provisionWebhook],
    ["notifiers.test", Runner.prototype.testNotifier],
  ],
  "foreign-app": [
    ["client.new", Runner.prototype.newClient],
    ["foreign.list", Runner.prototype.foreignList],
    ["foreign.show", Runner.prototype.foreignShow],
    ["foreign.provision", Runner.prototype.foreignProvision],
    ["foreign.update", Runner.prototype.foreignUpdate],
    ["foreign.destroy", Runner.prototype.foreignDestroy],
  ],
};

async function main() {
  const [cfg, usage] = readConfig(process.env);
  if (usage) {
    console.error(`herald-interop: ${usage}`);
    return 2;
  }
  const runner = new Runner(cfg);
  const deadline = setTimeout(() => {
    console.log(`FAIL ${runner.step}: no answer within ${DEADLINE_MS / 1000}s`);
    process.exit(1);
  }, DEADLINE_MS);
  let failed = false;
  try {
    await runner.run(SCENARIOS[cfg.scenario]);
  } catch (error) {
    failed = true;
    console.log(`FAIL ${runner.step}: ${describe(error)}`);
  }
  await runner.cleanup();
  clearTimeout(deadline);
  if (failed) return 1;
  console.log(`PASS scalingo.js ${CLIENT_VERSION} ${cfg.scenario} (${cfg.authMode}) against ${cfg.apiUrl}`);
  return 0;
}

process.exitCode = await main();
