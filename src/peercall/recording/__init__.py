"""Recording: chunked uploads from the browser, FFmpeg post-processing jobs, downloads."""
