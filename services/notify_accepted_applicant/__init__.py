"""The notify_accepted_applicant function: tell the booked nanny, once per job."""
