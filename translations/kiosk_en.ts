<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en_US">
<context>
    <name>DoorOpenScreen</name>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/door_open.py" line="62"/>
        <source>Opening doors %1…</source>
        <translation>
            <numerusform>Opening door %1…</numerusform>
            <numerusform>Opening doors %1…</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/door_open.py" line="64"/>
        <source>Doors %1 are open</source>
        <translation>
            <numerusform>Door %1 is open</numerusform>
            <numerusform>Doors %1 are open</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/door_open.py" line="66"/>
        <source>Take your parcels and close the doors.</source>
        <translation>
            <numerusform>Take your parcel and close the door.</numerusform>
            <numerusform>Take your parcels and close the doors.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/door_open.py" line="67"/>
        <source>Your doors are highlighted on the map.</source>
        <translation>
            <numerusform>Your door is highlighted on the map.</numerusform>
            <numerusform>Your doors are highlighted on the map.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/door_open.py" line="70"/>
        <source>The door did not open</source>
        <translation>
            <numerusform>The door did not open</numerusform>
            <numerusform>A door did not open</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>MoreTimeScreen</name>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/more_time.py" line="36"/>
        <source>Otherwise this screen goes back to the start in %n seconds.</source>
        <translation>
            <numerusform>Otherwise this screen goes back to the start in %n second.</numerusform>
            <numerusform>Otherwise this screen goes back to the start in %n seconds.</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>ParcelListScreen</name>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/parcel_list.py" line="117"/>
        <source>You have %n parcels here</source>
        <translation>
            <numerusform>You have %n parcel here</numerusform>
            <numerusform>You have %n parcels here</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>PickupCodeScreen</name>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/pickup_code.py" line="84"/>
        <source>That code was not recognised. %n attempts left before a pause.</source>
        <translation>
            <numerusform>That code was not recognised. %n attempt left before a pause.</numerusform>
            <numerusform>That code was not recognised. %n attempts left before a pause.</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>PickupScanScreen</name>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/pickup_scan.py" line="75"/>
        <source>That QR code was not recognised. %n attempts left before a pause.</source>
        <translation>
            <numerusform>That QR code was not recognised. %n attempt left before a pause.</numerusform>
            <numerusform>That QR code was not recognised. %n attempts left before a pause.</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>ThankYouScreen</name>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/thank_you.py" line="39"/>
        <source>You picked up %n parcels.</source>
        <translation>
            <numerusform>You picked up %n parcel.</numerusform>
            <numerusform>You picked up %n parcels.</numerusform>
        </translation>
    </message>
</context>
</TS>
