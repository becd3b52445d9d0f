// Command herald-interop drives Scalingo's own, unmodified Go client
// (github.com/Scalingo/go-scalingo, pinned in go.mod) against a running Herald API and checks that
// every notifier call it makes round-trips. The wire contract it exercises is docs/scalingo-compat.md.
//
// Configuration (flags win over the environment):
//
//	-api-url  HERALD_API_URL    Herald's base URL, without /v1 (e.g. http://127.0.0.1:8080)
//	-auth-url HERALD_AUTH_URL   where POST /v1/tokens/exchange lives (default: the API URL)
//	-token    HERALD_API_TOKEN  a Herald API token allowed to manage the app's notifiers
//	-app      HERALD_APP_ID     the app whose notifiers are created and destroyed
//	-auth     HERALD_AUTH_MODE  "exchange" (default: the client swaps the token for a JWT, as the
//	                            Scalingo CLI does) or "static" (the token is sent as the Bearer as is)
//
// It prints one line per step ("ok   <step>: <detail>") and, on the first failure, one
// "FAIL <step>: <reason>" line, then removes what it created and exits 1. Exit 2 is a usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	scalingo "github.com/Scalingo/go-scalingo/v11"
	httpclient "github.com/Scalingo/go-scalingo/v11/http"
	scerrors "github.com/Scalingo/go-utils/errors/v3"
)

type config struct {
	apiURL      string
	authURL     string
	token       string
	app         string
	authMode    string
	webhookURL  string
	slackURL    string
	eventName   string
	updateEvent string
	timeout     time.Duration
}

func main() {
	cfg, err := parseConfig(os.Args[1:], os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "herald-interop: %v\n", err)
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
	defer cancel()

	r := &runner{cfg: cfg, out: os.Stdout}
	err = r.run(ctx)
	if err != nil {
		fmt.Fprintf(r.out, "FAIL %s: %v\n", r.step, err)
	}
	r.cleanup(ctx)
	if err != nil {
		os.Exit(1)
	}
	fmt.Fprintln(r.out, "PASS go-scalingo "+scalingo.Version+" against "+cfg.apiURL)
}

func parseConfig(args []string, getenv func(string) string) (config, error) {
	envOr := func(key, fallback string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return fallback
	}
	var cfg config
	fs := flag.NewFlagSet("herald-interop", flag.ContinueOnError)
	fs.StringVar(&cfg.apiURL, "api-url", getenv("HERALD_API_URL"), "Herald base URL, without /v1")
	fs.StringVar(&cfg.authURL, "auth-url", getenv("HERALD_AUTH_URL"), "base URL of POST /v1/tokens/exchange (default: -api-url)")
	fs.StringVar(&cfg.token, "token", getenv("HERALD_API_TOKEN"), "Herald API token")
	fs.StringVar(&cfg.app, "app", getenv("HERALD_APP_ID"), "app id whose notifiers are managed")
	fs.StringVar(&cfg.authMode, "auth", envOr("HERALD_AUTH_MODE", "exchange"), "exchange | static")
	fs.StringVar(&cfg.webhookURL, "webhook-url", "https://hooks.example.com/herald-interop", "webhook_url of the webhook notifier")
	fs.StringVar(&cfg.slackURL, "slack-url", "https://hooks.slack.com/services/T0000/B0000/herald-interop", "webhook_url of the Slack notifier")
	fs.StringVar(&cfg.eventName, "event", "app_deployed", "event type name selected at creation")
	fs.StringVar(&cfg.updateEvent, "update-event", "app_restarted", "event type name added by the update")
	fs.DurationVar(&cfg.timeout, "timeout", 60*time.Second, "overall deadline")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	cfg.apiURL = strings.TrimRight(cfg.apiURL, "/")
	if cfg.authURL == "" {
		cfg.authURL = cfg.apiURL
	}
	cfg.authURL = strings.TrimRight(cfg.authURL, "/")
	var missing []string
	for name, v := range map[string]string{"HERALD_API_URL": cfg.apiURL, "HERALD_API_TOKEN": cfg.token, "HERALD_APP_ID": cfg.app} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return cfg, fmt.Errorf("missing %s (flag or environment)", strings.Join(missing, ", "))
	}
	if cfg.authMode != "exchange" && cfg.authMode != "static" {
		return cfg, fmt.Errorf("-auth must be exchange or static, not %q", cfg.authMode)
	}
	return cfg, nil
}

// newClient builds the client exactly as a Scalingo user would, only pointed at Herald: no Region
// (so no GET /v1/regions), APIEndpoint and AuthEndpoint set, default user agent.
func newClient(ctx context.Context, cfg config, token string) (*scalingo.Client, error) {
	cc := scalingo.ClientConfig{
		APIEndpoint:  cfg.apiURL,
		AuthEndpoint: cfg.authURL,
		Timeout:      15 * time.Second,
	}
	if cfg.authMode == "static" {
		cc.StaticTokenGenerator = scalingo.NewStaticTokenGenerator(token)
	} else {
		cc.APIToken = token
	}
	return scalingo.New(ctx, cc)
}

type runner struct {
	cfg     config
	out     io.Writer
	step    string
	client  *scalingo.Client
	created []string // notifier ids still to destroy

	webhookID, slackID string

	webhook, slack *scalingo.NotificationPlatform
	eventID        string
	updateEventID  string
}

func (r *runner) ok(format string, args ...any) {
	fmt.Fprintf(r.out, "ok   %-26s %s\n", r.step+":", fmt.Sprintf(format, args...))
}

func (r *runner) run(ctx context.Context) error {
	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"client.new", r.newClient},
		{"auth.rejects_bad_token", r.rejectsBadToken},
		{"platforms.list", r.listPlatforms},
		{"platforms.by_name", r.platformByName},
		{"event_types.list", r.listEventTypes},
		{"event_categories.list", r.listEventCategories},
		{"notifiers.provision_webhook", r.provisionWebhook},
		{"notifiers.provision_slack", r.provisionSlack},
		{"notifiers.provision_invalid", r.provisionInvalid},
		{"notifiers.list", r.listBoth},
		{"notifiers.show", r.show},
		{"notifiers.update", r.update},
		{"notifiers.show_updated", r.showUpdated},
		{"notifiers.destroy", r.destroy},
		{"notifiers.show_destroyed", r.showDestroyed},
		{"notifiers.list_after", r.listAfter},
	}
	for _, s := range steps {
		r.step = s.name
		if err := s.fn(ctx); err != nil {
			return err
		}
	}
	return nil
}

// cleanup destroys whatever a failed run left behind, and the Slack notifier of a good one.
func (r *runner) cleanup(ctx context.Context) {
	if r.client == nil {
		return
	}
	for _, id := range r.created {
		r.step = "cleanup"
		if err := r.client.NotifierDestroy(ctx, r.cfg.app, id); err != nil {
			fmt.Fprintf(r.out, "warn cleanup: destroy %s: %v\n", id, describe(err))
			continue
		}
		r.ok("destroyed %s", id)
	}
	r.created = nil
}

func (r *runner) newClient(ctx context.Context) error {
	c, err := newClient(ctx, r.cfg, r.cfg.token)
	if err != nil {
		return err
	}
	r.client = c
	if r.cfg.authMode == "exchange" {
		// Forces POST /v1/tokens/exchange now, so an auth problem is reported as one.
		if _, err := c.GetAccessToken(ctx); err != nil {
			return fmt.Errorf("token exchange at %s/v1/tokens/exchange: %s", r.cfg.authURL, describe(err))
		}
		r.ok("token exchanged for a JWT at %s/v1/tokens/exchange", r.cfg.authURL)
		return nil
	}
	r.ok("static Bearer token, API %s", r.cfg.apiURL)
	return nil
}

func (r *runner) rejectsBadToken(ctx context.Context) error {
	bad, err := newClient(ctx, r.cfg, "herald-interop-not-a-valid-token")
	if err != nil {
		return err
	}
	_, err = bad.EventTypesList(ctx)
	if err == nil {
		return errors.New("GET /v1/event_types with an invalid token succeeded; want 401")
	}
	if code := statusOf(err); code != 401 {
		return fmt.Errorf("want a 401 with a JSON body {\"error\": ...}, got: %s", describe(err))
	}
	r.ok("invalid token answered 401")
	return nil
}

func (r *runner) listPlatforms(ctx context.Context) error {
	platforms, err := r.client.NotificationPlatformsList(ctx)
	if err != nil {
		return errors.New(describe(err))
	}
	if len(platforms) == 0 {
		return errors.New("GET /v1/notification_platforms returned no platform")
	}
	names := make([]string, 0, len(platforms))
	for _, p := range platforms {
		if p == nil || p.ID == "" || p.Name == "" {
			return fmt.Errorf("platform without id or name: %+v", p)
		}
		names = append(names, p.Name)
		switch p.Name {
		case "webhook":
			r.webhook = p
		case "slack":
			r.slack = p
		}
	}
	if r.webhook == nil || r.slack == nil {
		return fmt.Errorf("want platforms named webhook and slack, got %v", names)
	}
	r.ok("%d platforms %v", len(platforms), names)
	return nil
}

func (r *runner) platformByName(ctx context.Context) error {
	found, err := r.client.NotificationPlatformByName(ctx, "slack")
	if err != nil {
		return errors.New(describe(err))
	}
	if len(found) == 0 || found[0] == nil || found[0].ID != r.slack.ID {
		return fmt.Errorf("GET /v1/notification_platforms/search?name=slack: want the slack platform %s first, got %d result(s)", r.slack.ID, len(found))
	}
	r.ok("search?name=slack -> %s", found[0].ID)
	return nil
}

func (r *runner) listEventTypes(ctx context.Context) error {
	types, err := r.client.EventTypesList(ctx)
	if err != nil {
		return errors.New(describe(err))
	}
	if len(types) == 0 {
		return errors.New("GET /v1/event_types returned no event type")
	}
	for _, t := range types {
		if t.ID == "" || t.Name == "" || t.CategoryID == "" {
			return fmt.Errorf("event type without id, name or category_id: %+v", t)
		}
		switch t.Name {
		case r.cfg.eventName:
			r.eventID = t.ID
		case r.cfg.updateEvent:
			r.updateEventID = t.ID
		}
	}
	if r.eventID == "" || r.updateEventID == "" {
		return fmt.Errorf("want event types named %s and %s among %d", r.cfg.eventName, r.cfg.updateEvent, len(types))
	}
	for _, p := range []*scalingo.NotificationPlatform{r.webhook, r.slack} {
		for _, id := range []string{r.eventID, r.updateEventID} {
			if !slices.Contains(p.AvailableEventIDs, id) {
				return fmt.Errorf("platform %s: available_event_ids lacks event type id %s (must use the ids of /v1/event_types)", p.Name, id)
			}
		}
	}
	r.ok("%d event types; %s=%s, %s=%s", len(types), r.cfg.eventName, r.eventID, r.cfg.updateEvent, r.updateEventID)
	return nil
}

func (r *runner) listEventCategories(ctx context.Context) error {
	cats, err := r.client.EventCategoriesList(ctx)
	if err != nil {
		return errors.New(describe(err))
	}
	if len(cats) == 0 {
		return errors.New("GET /v1/event_categories returned no category")
	}
	for _, c := range cats {
		if c.ID == "" || c.Name == "" {
			return fmt.Errorf("event category without id or name: %+v", c)
		}
	}
	r.ok("%d event categories", len(cats))
	return nil
}

// want is what a notifier answer must carry.
type want struct {
	id         string
	name       string
	platform   *scalingo.NotificationPlatform
	active     bool
	eventIDs   []string
	webhookURL string
}

func (r *runner) provisionWebhook(ctx context.Context) error {
	return r.provision(ctx, r.webhook, "herald-interop webhook", r.cfg.webhookURL)
}

func (r *runner) provisionSlack(ctx context.Context) error {
	return r.provision(ctx, r.slack, "herald-interop slack", r.cfg.slackURL)
}

func (r *runner) provision(ctx context.Context, p *scalingo.NotificationPlatform, name, url string) error {
	params := scalingo.NotifierParams{
		Active:           ptr(true),
		Name:             name,
		SendAllEvents:    ptr(false),
		SendAllAlerts:    ptr(false),
		SelectedEventIDs: []string{r.eventID},
		PlatformID:       p.ID,
		WebhookURL:       url,
	}
	n, err := r.client.NotifierProvision(ctx, r.cfg.app, params)
	if err != nil {
		return errors.New(describe(err))
	}
	if n.ID != "" {
		r.created = append(r.created, n.ID)
	}
	if p == r.webhook {
		r.webhookID = n.ID
	} else {
		r.slackID = n.ID
	}
	w := want{name: name, platform: p, active: true, eventIDs: []string{r.eventID}, webhookURL: url}
	if err := r.check(n, w); err != nil {
		return fmt.Errorf("POST /v1/apps/%s/notifiers answer: %w", r.cfg.app, err)
	}
	r.ok("%s notifier %s", n.Type, n.ID)
	return nil
}

func (r *runner) provisionInvalid(ctx context.Context) error {
	n, err := r.client.NotifierProvision(ctx, r.cfg.app, scalingo.NotifierParams{
		Active:     ptr(true),
		Name:       "herald-interop invalid",
		PlatformID: "herald-interop-no-such-platform",
		WebhookURL: r.cfg.webhookURL,
	})
	if err == nil {
		if n != nil && n.ID != "" {
			r.created = append(r.created, n.ID)
		}
		return errors.New("a notifier with an unknown platform_id was accepted; want 422")
	}
	var rfe *httpclient.RequestFailedError
	if !scerrors.As(err, &rfe) || rfe.Code != 422 {
		return fmt.Errorf("want a 422 whose body has a non-empty \"errors\" object, got: %s", describe(err))
	}
	ue, ok := rfe.APIError.(httpclient.UnprocessableEntity)
	if !ok || len(ue.Errors) == 0 {
		return fmt.Errorf("422 parsed without field errors: %s", describe(err))
	}
	fields := make([]string, 0, len(ue.Errors))
	for f := range ue.Errors {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	r.ok("unknown platform_id -> 422, errors on %v", fields)
	return nil
}

func (r *runner) listBoth(ctx context.Context) error {
	list, err := r.client.NotifiersList(ctx, r.cfg.app)
	if err != nil {
		return errors.New(describe(err))
	}
	byID := map[string]*scalingo.Notifier{}
	for _, d := range list {
		n := d.GetNotifier()
		byID[n.ID] = n
	}
	checks := []want{
		{id: r.webhookID, name: "herald-interop webhook", platform: r.webhook, active: true, eventIDs: []string{r.eventID}, webhookURL: r.cfg.webhookURL},
		{id: r.slackID, name: "herald-interop slack", platform: r.slack, active: true, eventIDs: []string{r.eventID}, webhookURL: r.cfg.slackURL},
	}
	for _, w := range checks {
		n, ok := byID[w.id]
		if !ok {
			return fmt.Errorf("GET /v1/apps/%s/notifiers (%d notifiers) lacks %s", r.cfg.app, len(list), w.id)
		}
		if err := r.check(n, w); err != nil {
			return fmt.Errorf("list entry %s: %w", w.id, err)
		}
	}
	r.ok("%d notifiers, both present", len(list))
	return nil
}

func (r *runner) show(ctx context.Context) error {
	id := r.webhookID
	n, err := r.client.NotifierByID(ctx, r.cfg.app, id)
	if err != nil {
		return errors.New(describe(err))
	}
	w := want{id: id, name: "herald-interop webhook", platform: r.webhook, active: true, eventIDs: []string{r.eventID}, webhookURL: r.cfg.webhookURL}
	if err := r.check(n, w); err != nil {
		return err
	}
	r.ok("%s %q", n.ID, n.Name)
	return nil
}

// updatedWant: the update sends name, active=false and the events, and no webhook_url, exactly as
// `scalingo notifiers-update --name … --event …` does; type_data must be kept as it was.
func (r *runner) updatedWant() want {
	return want{
		id: r.webhookID, name: "herald-interop webhook (renamed)", platform: r.webhook, active: false,
		eventIDs: []string{r.eventID, r.updateEventID}, webhookURL: r.cfg.webhookURL,
	}
}

func (r *runner) update(ctx context.Context) error {
	w := r.updatedWant()
	n, err := r.client.NotifierUpdate(ctx, r.cfg.app, w.id, scalingo.NotifierParams{
		Name:             w.name,
		Active:           ptr(false),
		SelectedEventIDs: w.eventIDs,
	})
	if err != nil {
		return errors.New(describe(err))
	}
	if err := r.check(n, w); err != nil {
		return fmt.Errorf("PATCH answer: %w", err)
	}
	if n.UpdatedAt.Before(n.CreatedAt) {
		return fmt.Errorf("updated_at %s is before created_at %s", n.UpdatedAt, n.CreatedAt)
	}
	r.ok("renamed, active=false, %d events, type_data kept", len(n.SelectedEventIDs))
	return nil
}

func (r *runner) showUpdated(ctx context.Context) error {
	w := r.updatedWant()
	n, err := r.client.NotifierByID(ctx, r.cfg.app, w.id)
	if err != nil {
		return errors.New(describe(err))
	}
	if err := r.check(n, w); err != nil {
		return fmt.Errorf("after PATCH, GET shows: %w", err)
	}
	r.ok("update persisted")
	return nil
}

func (r *runner) destroy(ctx context.Context) error {
	id := r.webhookID
	if err := r.client.NotifierDestroy(ctx, r.cfg.app, id); err != nil {
		return errors.New(describe(err))
	}
	r.created = slices.DeleteFunc(r.created, func(c string) bool { return c == id })
	r.ok("%s destroyed (204)", id)
	return nil
}

func (r *runner) showDestroyed(ctx context.Context) error {
	id := r.webhookID
	_, err := r.client.NotifierByID(ctx, r.cfg.app, id)
	if err == nil {
		return fmt.Errorf("GET of destroyed notifier %s succeeded; want 404", id)
	}
	if statusOf(err) != 404 {
		return fmt.Errorf("want a 404 with a JSON body, got: %s", describe(err))
	}
	r.ok("destroyed notifier answers 404")
	return nil
}

func (r *runner) listAfter(ctx context.Context) error {
	gone := r.webhookID
	list, err := r.client.NotifiersList(ctx, r.cfg.app)
	if err != nil {
		return errors.New(describe(err))
	}
	slackSeen := false
	for _, d := range list {
		switch d.GetID() {
		case gone:
			return fmt.Errorf("destroyed notifier %s is still listed", gone)
		case r.slackID:
			slackSeen = true
		}
	}
	if !slackSeen {
		return fmt.Errorf("slack notifier %s vanished from the list", r.slackID)
	}
	r.ok("%d notifiers, destroyed one gone", len(list))
	return nil
}

// check compares a decoded notifier with what it must be. Pointer fields are checked before any
// use: the Scalingo CLI dereferences active, send_all_events and send_all_alerts unguarded.
func (r *runner) check(n *scalingo.Notifier, w want) error {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if n == nil {
		return errors.New("no notifier in the answer")
	}
	if n.ID == "" {
		add("id is empty")
	}
	if w.id != "" && n.ID != w.id {
		add("id %q, want %q", n.ID, w.id)
	}
	if n.AppID != r.cfg.app {
		add("app_id %q, want %q", n.AppID, r.cfg.app)
	}
	if n.Name != w.name {
		add("name %q, want %q", n.Name, w.name)
	}
	if string(n.Type) != w.platform.Name {
		add("type %q, want the platform name %q", n.Type, w.platform.Name)
	}
	if n.PlatformID != w.platform.ID {
		add("platform_id %q, want %q", n.PlatformID, w.platform.ID)
	}
	switch {
	case n.Active == nil:
		add("active missing or null")
	case *n.Active != w.active:
		add("active %v, want %v", *n.Active, w.active)
	}
	if n.SendAllEvents == nil {
		add("send_all_events missing or null")
	}
	if n.SendAllAlerts == nil {
		add("send_all_alerts missing or null")
	}
	got := slices.Clone(n.SelectedEventIDs)
	exp := slices.Clone(w.eventIDs)
	slices.Sort(got)
	slices.Sort(exp)
	if !slices.Equal(got, exp) {
		add("selected_event_ids %v, want %v", n.SelectedEventIDs, w.eventIDs)
	}
	if n.CreatedAt.IsZero() || n.UpdatedAt.IsZero() {
		add("created_at/updated_at missing (%s / %s)", n.CreatedAt, n.UpdatedAt)
	}
	if url, err := webhookURLOf(n); err != nil {
		add("%v", err)
	} else if url != w.webhookURL {
		add("type_data.webhook_url %q, want %q", url, w.webhookURL)
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func webhookURLOf(n *scalingo.Notifier) (string, error) {
	switch d := n.Specialize().(type) {
	case *scalingo.NotifierWebhookType:
		return d.TypeData.WebhookURL, nil
	case *scalingo.NotifierSlackType:
		return d.TypeData.WebhookURL, nil
	default:
		return "", fmt.Errorf("type_data %s did not decode for type %q", string(n.RawTypeData), n.Type)
	}
}

// statusOf returns the HTTP status of a go-scalingo request failure, or 0.
func statusOf(err error) int {
	var rfe *httpclient.RequestFailedError
	if scerrors.As(err, &rfe) {
		return rfe.Code
	}
	return 0
}

// describe renders an error with the request and status when go-scalingo knows them.
func describe(err error) string {
	var rfe *httpclient.RequestFailedError
	if scerrors.As(err, &rfe) && rfe.Req != nil {
		return fmt.Sprintf("%s %s%s -> %d: %v (%v)", rfe.Req.Method, rfe.Req.URL, rfe.Req.Endpoint, rfe.Code, rfe.APIError, err)
	}
	return err.Error()
}

func ptr[T any](v T) *T { return &v }
