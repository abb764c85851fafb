"""Running a node: TLS material and the uvicorn process."""
