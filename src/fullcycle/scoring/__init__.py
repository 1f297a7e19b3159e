"""The checked scoring core shared by the server and batch scoring: request/record validation
against the data contract, the compiled and typed fast paths, and the scoring loops. Sits
above the task kinds and below delivery (serve, deploy); imports nothing from either."""
