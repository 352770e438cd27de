"""The shared test-data kit: builders of contract tables by keyword, generated shops, and the salted run."""
