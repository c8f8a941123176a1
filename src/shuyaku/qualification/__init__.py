"""資格 (qualification): person records, prefecture-level periods, municipal 適用 periods."""
