"""Every module's event listeners, imported so they are registered. Add each module's here."""
