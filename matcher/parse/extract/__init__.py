"""Rule-based extraction of place, contract, licences, languages, salary, remote work, experience, skills."""
