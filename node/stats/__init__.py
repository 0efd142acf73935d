"""Analytics (reference §11): every dashboard statistic in SQL over the ``chain`` projections and their summaries."""
