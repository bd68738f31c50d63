"""The API's routers, one job each: stories, their files, the options a page offers, health."""
