/** A minimal one-step template with a required `date`, so every trigger can be a distinct run. */
export const readDayTemplate = (purpose: string): string => `description: Reads one day (${purpose})
version: 1.0.0
parameters:
  date: { type: date, required: true }
timeout_minutes: 5
steps:
  - id: read_day
    type: query
    sql: SELECT @date AS day
`;
