{{/* The chart's full name. */}}
{{- define "agentrelease.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Standard labels. */}}
{{- define "agentrelease.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "agentrelease.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: agentrelease
{{- end -}}

{{/* Selector labels. */}}
{{- define "agentrelease.selectorLabels" -}}
app.kubernetes.io/name: agentrelease
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end -}}

{{/* The ServiceAccount's name. */}}
{{- define "agentrelease.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "agentrelease.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The rules the controller needs on its own resources (Secrets are granted apart). */}}
{{- define "agentrelease.rules" -}}
- apiGroups: ["agentops.dev"]
  resources: ["agentreleases"]
  verbs: ["get", "list", "watch", "patch", "update"]
- apiGroups: ["agentops.dev"]
  resources: ["agentreleases/status"]
  verbs: ["get", "patch", "update"]
- apiGroups: ["agentops.dev"]
  resources: ["agentreleases/finalizers"]
  verbs: ["update"]
- apiGroups: ["agentops.dev"]
  resources: ["releasetargets"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["agentops.dev"]
  resources: ["releasetargets/status"]
  verbs: ["get", "patch", "update"]
- apiGroups: ["agentops.dev"]
  resources: ["agentreleaseapprovals"]
  verbs: ["get", "list", "watch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end -}}


{{/* The namespaces whose Secrets the controller may list and watch: secretNamespaces, else
watchNamespaces. Empty: Secrets are read by name only, cluster-wide. One name per line. */}}
{{- define "agentrelease.secretNamespaces" -}}
{{- range (.Values.secretNamespaces | default .Values.watchNamespaces) }}
{{ . }}
{{- end }}
{{- end -}}

{{/* Secrets read by name only (no list, no watch), and with workload identity the tokens of
the ServiceAccounts targets name: the ClusterRole's share when no namespaces are listed. */}}
{{- define "agentrelease.clusterSecretRules" -}}
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get"]
{{- if .Values.workloadIdentity.enabled }}
- apiGroups: [""]
  resources: ["serviceaccounts/token"]
  verbs: ["create"]
{{- end }}
{{- end -}}

{{/* Secrets in one listed namespace: read, and watched as metadata so a change is used at
once; with workload identity the tokens of that namespace's ServiceAccounts. */}}
{{- define "agentrelease.namespacedSecretRules" -}}
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch"]
{{- if .Values.workloadIdentity.enabled }}
- apiGroups: [""]
  resources: ["serviceaccounts/token"]
  verbs: ["create"]
{{- end }}
{{- end -}}
