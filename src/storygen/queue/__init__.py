"""A persistent job queue for story runs: SQLite (standard library, WAL) plus the story folders.

``JobQueue(stories_dir, workers=1)`` keeps one row per story (its request, status, progress and error) and its
events in a small database inside the stories folder. Worker threads, each with its own ``ModelHost``, take
queued stories and run them through ``storygen.service.make_story``; a job left 'running' by a killed server is
queued again on the next start and resumes from its manifest. Front doors (the web server, the MCP server) call
this package; it calls the service, never the other way.
"""

from storygen.queue.errors import Conflict, NotFound, QueueFull, Refused
from storygen.queue.jobs import FILES, JobQueue, Submission, Upload

__all__ = ["FILES", "Conflict", "JobQueue", "NotFound", "QueueFull", "Refused", "Submission", "Upload"]
