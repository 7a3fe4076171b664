"""Consent you can prove: the append-only log, advertising rules (정보통신망법 제50조)."""
