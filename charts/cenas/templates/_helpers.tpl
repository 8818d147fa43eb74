{{/* Chart name, truncated to the 63 characters a DNS label allows. */}}
{{- define "cenas.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified name prefix; leaves room for the longest suffix (-operator-cluster). */}}
{{- define "cenas.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 45 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 45 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 45 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "cenas.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Recommended labels (https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/). */}}
{{- define "cenas.labels" -}}
helm.sh/chart: {{ include "cenas.chart" . }}
{{ include "cenas.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: cenas
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "cenas.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cenas.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of one component: (dict "ctx" $ "component" "operator"). */}}
{{- define "cenas.componentLabels" -}}
{{ include "cenas.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "cenas.componentSelectorLabels" -}}
{{ include "cenas.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "cenas.operator.fullname" -}}
{{ include "cenas.fullname" . }}-operator
{{- end }}

{{- define "cenas.forecaster.fullname" -}}
{{ include "cenas.fullname" . }}-forecaster
{{- end }}

{{- define "cenas.operator.serviceAccountName" -}}
{{- if .Values.operator.serviceAccount.create }}
{{- default (include "cenas.operator.fullname" .) .Values.operator.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.operator.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "cenas.forecaster.serviceAccountName" -}}
{{- if .Values.forecaster.serviceAccount.create }}
{{- default (include "cenas.forecaster.fullname" .) .Values.forecaster.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.forecaster.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* An image reference: (dict "image" .Values.operator.image "ctx" $); the digest wins over the tag. */}}
{{- define "cenas.image" -}}
{{- if .image.digest }}
{{- printf "%s@%s" .image.repository .image.digest }}
{{- else }}
{{- printf "%s:%s" .image.repository (default .ctx.Chart.AppVersion .image.tag) }}
{{- end }}
{{- end }}

{{/* The forecaster URL the operator uses. */}}
{{- define "cenas.forecasterUrl" -}}
{{- if .Values.operator.config.forecasterUrl }}
{{- .Values.operator.config.forecasterUrl }}
{{- else if .Values.forecaster.enabled }}
{{- printf "http://%s.%s.svc:%v" (include "cenas.forecaster.fullname" .) .Release.Namespace .Values.forecaster.service.port }}
{{- else }}
{{- fail "operator.config.forecasterUrl must be set when forecaster.enabled is false" }}
{{- end }}
{{- end }}

{{/* Namespaces that get the trainer ServiceAccount and RoleBinding. */}}
{{- define "cenas.trainerNamespaces" -}}
{{- toJson (default .Values.operator.watchNamespaces .Values.trainer.namespaces) }}
{{- end }}

{{/* Pod and container security contexts of the restricted Pod Security Standard. */}}
{{- define "cenas.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "cenas.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
{{- end }}
