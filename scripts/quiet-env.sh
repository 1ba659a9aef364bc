# Sourced by the scripts a person runs (setup, the e2e server, the test run): the tools stay quiet about
# themselves without writing a preference into that person's home directory.
# Next prints a telemetry notice on its first build or start and would send usage data.
export NEXT_TELEMETRY_DISABLED=1
# npm prints "New minor version of npm available" after npm ci and npx.
export NPM_CONFIG_UPDATE_NOTIFIER=false
