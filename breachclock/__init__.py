"""breachclock: privacy-incident reporting workflows for telecom operators."""
