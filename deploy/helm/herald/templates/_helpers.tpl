{{/*
Names, labels and the parts every Herald container shares: its settings (HERALD_<SERVICE>_...,
nested with `__`, as the services' pydantic settings read them), the Kafka security material
mounted as files, and the volumes of a read-only root filesystem.
*/}}

{{- define "herald.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "herald.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "herald.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "herald.labels" -}}
helm.sh/chart: {{ include "herald.chart" . }}
app.kubernetes.io/name: {{ include "herald.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: herald
{{- end }}

{{- define "herald.selectorLabels" -}}
app.kubernetes.io/name: {{ include "herald.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "herald.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "herald.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "herald.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret of Herald's own credentials: the operator's, or the chart's. */}}
{{- define "herald.secretName" -}}
{{- default (include "herald.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{/* The chart's Secret of Kafka material (SASL password, TLS PEMs), when it makes one. */}}
{{- define "herald.kafkaSecretName" -}}
{{- printf "%s-kafka" (include "herald.fullname" .) }}
{{- end }}

{{- define "herald.kafkaSasl" -}}
{{- has .Values.kafka.securityProtocol (list "SASL_PLAINTEXT" "SASL_SSL") }}
{{- end }}

{{- define "herald.kafkaTls" -}}
{{- has .Values.kafka.securityProtocol (list "SSL" "SASL_SSL") }}
{{- end }}

{{/* Which TLS files are mounted: ca, cert+key (mTLS), each from the given or the chart's secret. */}}
{{- define "herald.kafkaTlsFiles" -}}
{{- $tls := .Values.kafka.tls }}
{{- $files := dict }}
{{- if eq (include "herald.kafkaTls" .) "true" }}
{{- if $tls.existingSecret }}
{{- if $tls.caKey }}{{- $_ := set $files "ca.crt" $tls.caKey }}{{- end }}
{{- if and $tls.certKey $tls.keyKey }}{{- $_ := set $files "tls.crt" $tls.certKey }}{{- $_ := set $files "tls.key" $tls.keyKey }}{{- end }}
{{- else }}
{{- if $tls.ca }}{{- $_ := set $files "ca.crt" "ca.crt" }}{{- end }}
{{- if and $tls.cert $tls.key }}{{- $_ := set $files "tls.crt" "tls.crt" }}{{- $_ := set $files "tls.key" "tls.key" }}{{- end }}
{{- end }}
{{- end }}
{{- toJson $files }}
{{- end }}

{{/*
The Kafka variables of one settings prefix: `prefix` is HERALD_ROUTER_KAFKA__ for a service,
HERALD_KAFKA_ for the command-line tools.
*/}}
{{- define "herald.kafkaEnv" -}}
{{- $root := .root }}
{{- $p := .prefix }}
{{- $k := $root.Values.kafka }}
{{- if .withBootstrap }}
- name: {{ $p }}BOOTSTRAP_SERVERS
  value: {{ $k.bootstrapServers | quote }}
{{- end }}
{{- if ne $k.securityProtocol "PLAINTEXT" }}
- name: {{ $p }}SECURITY_PROTOCOL
  value: {{ $k.securityProtocol | quote }}
{{- end }}
{{- if eq (include "herald.kafkaSasl" $root) "true" }}
- name: {{ $p }}SASL_MECHANISM
  value: {{ $k.sasl.mechanism | quote }}
- name: {{ $p }}SASL_USERNAME
  value: {{ required "kafka.sasl.username is required with a SASL security protocol" $k.sasl.username | quote }}
- name: {{ $p }}SASL_PASSWORD_FILE
  value: /etc/herald/kafka-sasl/password
{{- end }}
{{- if eq (include "herald.kafkaTls" $root) "true" }}
{{- $files := include "herald.kafkaTlsFiles" $root | fromJson }}
{{- if hasKey $files "ca.crt" }}
- name: {{ $p }}SSL_CAFILE
  value: /etc/herald/kafka-tls/ca.crt
{{- end }}
{{- if hasKey $files "tls.crt" }}
- name: {{ $p }}SSL_CERTFILE
  value: /etc/herald/kafka-tls/tls.crt
- name: {{ $p }}SSL_KEYFILE
  value: /etc/herald/kafka-tls/tls.key
{{- end }}
{{- if not $k.tls.checkHostname }}
- name: {{ $p }}SSL_CHECK_HOSTNAME
  value: "false"
{{- end }}
{{- end }}
{{- end }}

{{/* The volumes of the Kafka material (none on a PLAINTEXT broker). */}}
{{- define "herald.kafkaVolumes" -}}
{{- $k := .Values.kafka }}
{{- if eq (include "herald.kafkaSasl" .) "true" }}
- name: kafka-sasl
  secret:
    secretName: {{ default (include "herald.kafkaSecretName" .) $k.sasl.existingSecret }}
    items:
      - key: {{ ternary $k.sasl.passwordKey "sasl-password" (ne $k.sasl.existingSecret "") }}
        path: password
{{- end }}
{{- $files := include "herald.kafkaTlsFiles" . | fromJson }}
{{- if $files }}
- name: kafka-tls
  secret:
    secretName: {{ default (include "herald.kafkaSecretName" .) $k.tls.existingSecret }}
    items:
      {{- range $path, $key := $files }}
      - key: {{ $key }}
        path: {{ $path }}
      {{- end }}
{{- end }}
{{- end }}

{{- define "herald.kafkaVolumeMounts" -}}
{{- if eq (include "herald.kafkaSasl" .) "true" }}
- name: kafka-sasl
  mountPath: /etc/herald/kafka-sasl
  readOnly: true
{{- end }}
{{- if (include "herald.kafkaTlsFiles" . | fromJson) }}
- name: kafka-tls
  mountPath: /etc/herald/kafka-tls
  readOnly: true
{{- end }}
{{- end }}

{{/* A value of Herald's Secret, by key. */}}
{{- define "herald.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "herald.secretName" .root }}
      key: {{ .key }}
{{- end }}

{{/* The API's public URL: the value, else its Service in the cluster. */}}
{{- define "herald.apiUrl" -}}
{{- default (printf "http://%s-api.%s.svc:8080" (include "herald.fullname" .) .Release.Namespace) .Values.api.publicUrl }}
{{- end }}

{{/*
Every Deployment the chart makes, as a YAML list: name (component), values (its values), the
settings prefix, the argv, whether it is a faust service (a data folder), its consumer group and
topic (KEDA), whether an HPA or KEDA scales it.
*/}}
{{- define "herald.components" -}}
{{- $v := .Values }}
- {name: api, key: api, prefix: HERALD_API_, command: [python, -m, herald_api], faust: false, hpa: {{ $v.api.autoscaling.enabled }}, keda: false, public: true}
- {name: ingest, key: ingest, prefix: HERALD_INGEST_, command: [python, -m, herald_ingest], faust: false, hpa: {{ $v.ingest.autoscaling.enabled }}, keda: false, public: true}
- {name: router, key: router, prefix: HERALD_ROUTER_, command: [python, -m, herald_router], faust: false, hpa: false, keda: {{ $v.keda.enabled }}, group: herald-router, topic: notify.events, public: false}
- {name: derive, key: derive, prefix: HERALD_DERIVE_, command: [python, -m, herald_derive], faust: true, hpa: false, keda: false, public: false}
- {name: alerter, key: alerter, prefix: HERALD_ALERTER_, command: [python, -m, herald_alerter], faust: false, hpa: false, keda: false, public: false}
- {name: recorder, key: recorder, prefix: HERALD_RECORDER_, command: [python, -m, herald_recorder], faust: false, hpa: false, keda: false, public: false}
{{- range $channel := list "webhook" "email" "slack" "mattermost" "rocketchat" "discord" "msteams" "googlechat" "hipchat" "flowdock" "gitter" }}
{{- if (index $v.senders $channel).enabled }}
- {name: sender-{{ $channel }}, key: sender, channel: {{ $channel }}, prefix: HERALD_SENDER_, command: [python, -m, herald_sender, --channel, {{ $channel }}], faust: false, hpa: false, keda: {{ $v.keda.enabled }}, group: herald-sender-{{ $channel }}, topic: notify.deliveries.{{ $channel }}, public: false}
{{- end }}
{{- end }}
{{- end }}

{{/* The values of one component: a sender's are the defaults under its own. */}}
{{- define "herald.componentValues" -}}
{{- if eq .component.key "sender" }}
{{- toJson (merge (deepCopy (index .root.Values.senders .component.channel)) (deepCopy .root.Values.senders.defaults)) }}
{{- else }}
{{- toJson (index .root.Values .component.key) }}
{{- end }}
{{- end }}

{{/* Settings of one component beyond those every service has. */}}
{{- define "herald.componentEnv" -}}
{{- $root := .root }}
{{- $c := .component }}
{{- $p := $c.prefix }}
{{- if eq $c.name "api" }}
{{- include "herald.secretEnv" (dict "root" $root "name" "HERALD_API_DATABASE_URL" "key" "database-url") }}
{{ include "herald.secretEnv" (dict "root" $root "name" "HERALD_API_ADMIN_TOKEN" "key" "admin-token") }}
{{ include "herald.secretEnv" (dict "root" $root "name" "HERALD_API_JWT_SECRET" "key" "jwt-secret") }}
{{ include "herald.secretEnv" (dict "root" $root "name" "HERALD_UNSUBSCRIBE_SECRET" "key" "unsubscribe-secret") }}
- name: HERALD_API_PUBLIC_URL
  value: {{ include "herald.apiUrl" $root | quote }}
{{- if $root.Values.migrations.enabled }}
- name: HERALD_API_MIGRATE_ON_START
  value: "false"
{{- end }}
{{- else if eq $c.name "ingest" }}
- name: HERALD_INGEST_AUTH__TOKEN_FILE
  value: /etc/herald/ingest/tokens
{{- else if eq $c.name "recorder" }}
{{- include "herald.secretEnv" (dict "root" $root "name" "HERALD_RECORDER_DATABASE_URL" "key" "database-url") }}
{{- else if $c.faust }}
- name: {{ $p }}DATA_DIR
  value: /var/lib/herald/{{ $c.name }}
{{- else if eq $c.name "sender-email" }}
{{- $smtp := $root.Values.smtp }}
- name: HERALD_SENDER_SMTP__HOST
  value: {{ $smtp.host | quote }}
- name: HERALD_SENDER_SMTP__PORT
  value: {{ $smtp.port | quote }}
- name: HERALD_SENDER_SMTP__TLS
  value: {{ $smtp.tls | quote }}
- name: HERALD_SENDER_SMTP__FROM_ADDRESS
  value: {{ $smtp.fromAddress | quote }}
- name: HERALD_SENDER_SMTP__UNSUBSCRIBE_BASE_URL
  value: {{ include "herald.apiUrl" $root | quote }}
{{ include "herald.secretEnv" (dict "root" $root "name" "HERALD_SENDER_SMTP__UNSUBSCRIBE_SECRET" "key" "unsubscribe-secret") }}
{{- if $smtp.username }}
- name: HERALD_SENDER_SMTP__USERNAME
  value: {{ $smtp.username | quote }}
{{ include "herald.secretEnv" (dict "root" $root "name" "HERALD_SENDER_SMTP__PASSWORD" "key" "smtp-password") }}
{{- end }}
{{- else if and (eq $c.key "sender") (ne $c.channel "webhook") }}
- name: HERALD_SENDER_CHAT__DASHBOARD_URL_TEMPLATE
  value: {{ $root.Values.chat.dashboardUrlTemplate | quote }}
{{- end }}
{{- end }}

{{- define "herald.podSpecCommon" -}}
serviceAccountName: {{ include "herald.serviceAccountName" . }}
automountServiceAccountToken: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
