/** The settings of the `bare` and `stub-runner` targets. */
export const BENCH_SETTINGS = {
  TELEGRAM_BOT_TOKEN: "7000000001:AAH-bench-token-0123456789abcdefghij",
  TELEGRAM_WEBHOOK_SECRET: "bench-secret_0123456789",
  TELEGRAM_API_ROOT: "http://127.0.0.1:9",
  HOST: "127.0.0.1",
  PORT: "0",
  ALLOWED_USER_IDS: "111222333",
  LOG_LEVEL: "info",
};
