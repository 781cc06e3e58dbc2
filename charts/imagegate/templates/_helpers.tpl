{{/* Chart name, truncated to the 63 characters a label allows. */}}
{{- define "imagegate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name; used for every object this release owns. */}}
{{- define "imagegate.fullname" -}}
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

{{- define "imagegate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Standard labels (https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/). */}}
{{- define "imagegate.labels" -}}
helm.sh/chart: {{ include "imagegate.chart" . }}
{{ include "imagegate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: imagegate
{{- end }}

{{- define "imagegate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "imagegate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "imagegate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "imagegate.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "imagegate.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "imagegate.testImage" -}}
{{- with .Values.test.image }}
{{- if .digest }}{{ printf "%s@%s" .repository .digest }}{{ else }}{{ printf "%s:%s" .repository .tag }}{{ end }}
{{- end }}
{{- end }}

{{- define "imagegate.tlsSecretName" -}}
{{- default (printf "%s-tls" (include "imagegate.fullname" .)) .Values.tls.existingSecret.name }}
{{- end }}

{{/* DNS name of the Service, the name the webhook certificate is issued for. */}}
{{- define "imagegate.serviceHost" -}}
{{- printf "%s.%s.svc" (include "imagegate.fullname" .) .Release.Namespace }}
{{- end }}

{{/*
failurePolicy of a webhook: the explicit value, else Fail in enforce mode and Ignore in audit mode.
Call with (dict "explicit" .Values.webhook.failurePolicy "mode" .Values.mode).
*/}}
{{- define "imagegate.failurePolicy" -}}
{{- if .explicit }}{{ .explicit }}{{ else if eq .mode "enforce" }}Fail{{ else }}Ignore{{ end }}
{{- end }}

{{/*
The chart-generated TLS material, computed once per render and shared by the Secret and the webhook
configurations: reused from the existing Secret (lookup) so upgrades keep the CA the API server
trusts; generated only on first install or when the Secret was deleted. Returns YAML {ca, crt, key}.
`helm template` has no cluster, so it always generates (and the output differs on every run).
*/}}
{{- define "imagegate.generatedTLS" -}}
{{- if not (hasKey $ "imagegateGeneratedTLS") }}
{{- $secret := lookup "v1" "Secret" .Release.Namespace (include "imagegate.tlsSecretName" .) }}
{{- $data := dict }}
{{- if and $secret $secret.data }}
{{- $data = $secret.data }}
{{- end }}
{{- if and (hasKey $data "ca.crt") (hasKey $data "tls.crt") (hasKey $data "tls.key") }}
{{- $_ := set $ "imagegateGeneratedTLS" (dict "ca" (index $data "ca.crt") "crt" (index $data "tls.crt") "key" (index $data "tls.key")) }}
{{- else }}
{{- $host := include "imagegate.serviceHost" . }}
{{- $ca := genCA (printf "%s-ca" (include "imagegate.fullname" .)) (int .Values.tls.validityDays) }}
{{- $names := list (include "imagegate.fullname" .) (printf "%s.%s" (include "imagegate.fullname" .) .Release.Namespace) $host (printf "%s.cluster.local" $host) }}
{{- $ips := list }}
{{- with .Values.webhook.url }}
{{- /* An out-of-cluster webhook (webhook.url): the certificate also names the URL's host. */}}
{{- $urlHost := (urlParse .).hostname }}
{{- if regexMatch "^[0-9.]+$|:" $urlHost }}
{{- $ips = append $ips $urlHost }}
{{- else }}
{{- $names = append $names $urlHost }}
{{- end }}
{{- end }}
{{- $cert := genSignedCert $host $ips $names (int .Values.tls.validityDays) $ca }}
{{- $_ := set $ "imagegateGeneratedTLS" (dict "ca" ($ca.Cert | b64enc) "crt" ($cert.Cert | b64enc) "key" ($cert.Key | b64enc)) }}
{{- end }}
{{- end }}
{{- toYaml (get $ "imagegateGeneratedTLS") }}
{{- end }}

{{/* caBundle / cert-manager annotation wiring shared by both webhook configurations. */}}
{{- define "imagegate.webhookAnnotations" -}}
{{- if .Values.tls.certManager.enabled }}
annotations:
  cert-manager.io/inject-ca-from: {{ printf "%s/%s" .Release.Namespace (include "imagegate.fullname" .) }}
{{- end }}
{{- end }}

{{- define "imagegate.clientConfig" -}}
clientConfig:
  {{- if .root.Values.webhook.url }}
  url: {{ printf "%s%s" (trimSuffix "/" .root.Values.webhook.url) .path | quote }}
  {{- else }}
  service:
    name: {{ include "imagegate.fullname" .root }}
    namespace: {{ .root.Release.Namespace }}
    path: {{ .path }}
    port: {{ .root.Values.service.port }}
  {{- end }}
  {{- if .root.Values.tls.existingSecret.name }}
  caBundle: {{ required "tls.existingSecret.caBundle: give the PEM of the CA that signed the Secret's certificate" .root.Values.tls.existingSecret.caBundle | b64enc }}
  {{- else if not .root.Values.tls.certManager.enabled }}
  caBundle: {{ (include "imagegate.generatedTLS" .root | fromYaml).ca }}
  {{- end }}
{{- end }}

{{/* Who is reviewed: never this release's namespace, kube-system, or namespaces that opted out. */}}
{{- define "imagegate.namespaceSelector" -}}
namespaceSelector:
  matchExpressions:
    - key: kubernetes.io/metadata.name
      operator: NotIn
      values:
        {{- range (concat (list .Release.Namespace "kube-system") .Values.webhook.excludeNamespaces | uniq) }}
        - {{ . | quote }}
        {{- end }}
    - key: imagegate.dev/ignore
      operator: NotIn
      values: ["true"]
    {{- with .Values.webhook.namespaceSelector.matchExpressions }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end }}

{{- define "imagegate.matchConditions" -}}
{{- $conditions := list }}
{{- if .Values.webhook.matchConditions.skipUnchangedUpdates }}
{{- $conditions = append $conditions (dict "name" "spec-changed" "expression" "request.operation != 'UPDATE' || (has(request.subResource) && request.subResource != '') || (request.resource.resource == 'podtemplates' ? !has(object.template) || !has(oldObject.template) || object.template != oldObject.template : !has(object.spec) || !has(oldObject.spec) || object.spec != oldObject.spec)") }}
{{- end }}
{{- if .Values.webhook.matchConditions.skipNodeRequests }}
{{- $conditions = append $conditions (dict "name" "not-from-kubelet" "expression" "!(has(request.userInfo.groups) && 'system:nodes' in request.userInfo.groups)") }}
{{- end }}
{{- $conditions = concat $conditions .Values.webhook.matchConditions.extra }}
{{- with $conditions }}
matchConditions:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Rules: pods and every built-in kind that carries a pod template. */}}
{{- define "imagegate.rules" -}}
rules:
  - apiGroups: [""]
    apiVersions: ["v1"]
    operations: ["CREATE", "UPDATE"]
    resources:
      - pods
      {{- if .Values.webhook.ephemeralContainers }}
      - pods/ephemeralcontainers
      {{- end }}
      - replicationcontrollers
      - podtemplates
    scope: Namespaced
  - apiGroups: ["apps"]
    apiVersions: ["v1"]
    operations: ["CREATE", "UPDATE"]
    resources: ["deployments", "statefulsets", "daemonsets", "replicasets"]
    scope: Namespaced
  - apiGroups: ["batch"]
    apiVersions: ["v1"]
    operations: ["CREATE", "UPDATE"]
    resources: ["jobs", "cronjobs"]
    scope: Namespaced
{{- end }}

{{/* True ("true") when the ServiceAccount needs to read namespace labels. */}}
{{/* "true" when the background audit runs (auto: in audit mode). */}}
{{- define "imagegate.backgroundAudit" -}}
{{- $on := .Values.backgroundAudit.enabled }}
{{- if eq (toString $on) "auto" }}
{{- if eq .Values.mode "audit" }}true{{ end }}
{{- else if $on }}true
{{- end }}
{{- end }}

{{- define "imagegate.needsNamespaceLabels" -}}
{{- $mode := .Values.rbac.namespaceLabels }}
{{- if eq (toString $mode) "auto" }}
{{- range $name, $spec := .Values.policies.items }}
{{- with $spec.namespaces }}
{{- if or .matchLabels .matchExpressions }}true{{ end }}
{{- end }}
{{- end }}
{{- else if $mode }}true
{{- end }}
{{- end }}

{{/* Trusted root names: inline roots and the names listed for an existing ConfigMap. */}}
{{- define "imagegate.trustedRootNames" -}}
{{- if .Values.trustedRoots.existingConfigMap }}
{{- toJson (default (list) .Values.trustedRoots.existingNames) }}
{{- else }}
{{- toJson (keys .Values.trustedRoots.roots | sortAlpha) }}
{{- end }}
{{- end }}

{{/* priorityClassName: the explicit value, else the chart's own PriorityClass when it creates one. */}}
{{- define "imagegate.priorityClassName" -}}
{{- if .Values.priorityClassName }}{{ .Values.priorityClassName }}{{ else if .Values.priorityClass.create }}{{ include "imagegate.fullname" . }}{{ end }}
{{- end }}

{{/*
The ServiceAccount's annotations: serviceAccount.annotations plus each cloud's workload identity
(cloudIdentity: IRSA role, GKE service account, Azure client and tenant IDs); docs/cloud.md.
*/}}
{{- define "imagegate.serviceAccountAnnotations" -}}
{{- $a := deepCopy (.Values.serviceAccount.annotations | default dict) -}}
{{- with .Values.cloudIdentity -}}
{{- if .aws.roleArn }}{{- $_ := set $a "eks.amazonaws.com/role-arn" .aws.roleArn -}}{{- end -}}
{{- if .gcp.serviceAccount }}{{- $_ := set $a "iam.gke.io/gcp-service-account" .gcp.serviceAccount -}}{{- end -}}
{{- if .azure.clientId }}{{- $_ := set $a "azure.workload.identity/client-id" .azure.clientId -}}{{- end -}}
{{- if .azure.tenantId }}{{- $_ := set $a "azure.workload.identity/tenant-id" .azure.tenantId -}}{{- end -}}
{{- end -}}
{{- toYaml $a -}}
{{- end }}
