"""`storygen mcp`: the MCP server over the Studio job queue."""
