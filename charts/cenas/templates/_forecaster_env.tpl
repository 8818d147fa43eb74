{{/* The forecaster's CENAS_FORECASTER_* environment (EnvVar list items; empty when all defaults). */}}
{{- define "cenas.forecaster.env" -}}
{{- with .Values.forecaster.config.replayLocations }}
- name: CENAS_FORECASTER_REPLAY_LOCATIONS
  value: {{ join "," . | quote }}
{{- end }}
{{- with .Values.forecaster.liveLocations }}
- name: CENAS_FORECASTER_LIVE_LOCATIONS
  value: {{ toJson . | quote }}
{{- end }}
{{- range $key, $env := dict "replayStart" "REPLAY_START" "replaySpeed" "REPLAY_SPEED" "replayLoop" "REPLAY_LOOP" "calibrationDays" "CALIBRATION_DAYS" "maxStalenessSeconds" "MAX_STALENESS_SECONDS" "retryAfterSeconds" "RETRY_AFTER_SECONDS" "httpTimeoutSeconds" "HTTP_TIMEOUT_SECONDS" "httpRetries" "HTTP_RETRIES" "httpBackoffSeconds" "HTTP_BACKOFF_SECONDS" "electricitymapsBaseUrl" "ELECTRICITYMAPS_BASE_URL" "watttimeBaseUrl" "WATTTIME_BASE_URL" "ukBaseUrl" "UK_BASE_URL" }}
{{- $value := index $.Values.forecaster.config $key }}
{{- if not (kindIs "invalid" $value) }}
- name: CENAS_FORECASTER_{{ $env }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end }}
{{- with .Values.forecaster.secrets.electricityMaps.name }}
- name: CENAS_FORECASTER_ELECTRICITYMAPS_API_KEY
  valueFrom:
    secretKeyRef: {name: {{ . }}, key: {{ $.Values.forecaster.secrets.electricityMaps.apiKeyKey }}}
{{- end }}
{{- with .Values.forecaster.secrets.wattTime.name }}
- name: CENAS_FORECASTER_WATTTIME_USERNAME
  valueFrom:
    secretKeyRef: {name: {{ . }}, key: {{ $.Values.forecaster.secrets.wattTime.usernameKey }}}
- name: CENAS_FORECASTER_WATTTIME_PASSWORD
  valueFrom:
    secretKeyRef: {name: {{ . }}, key: {{ $.Values.forecaster.secrets.wattTime.passwordKey }}}
{{- end }}
{{- with .Values.forecaster.extraEnv }}
{{- toYaml . | nindent 0 }}
{{- end }}
{{- end }}
