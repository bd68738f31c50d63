"""Studio: the web page, the REST API and the job queue behind them, in one process (`storygen serve`).

``create_app(Settings(...))`` builds the FastAPI app; the routers (stories, files, options, health) get the
queue, the settings and the auth check by dependency injection. No pipeline logic lives here: every story is
made by ``storygen.queue`` through ``storygen.service.make_story``.
"""
