<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en_US">
<context>
    <name>CourierCollectScreen</name>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/courier_collect.py" line="131"/>
        <source>%n parcels to collect</source>
        <translation>
            <numerusform>%n parcel to collect</numerusform>
            <numerusform>%n parcels to collect</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/courier_collect.py" line="137"/>
        <source>Open all %n doors</source>
        <translation>
            <numerusform>Open %n door</numerusform>
            <numerusform>Open all %n doors</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>CourierLoginScreen</name>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/courier_login.py" line="116"/>
        <source>Courier ID, PIN or badge not recognised. %n attempts left before a pause.</source>
        <translation>
            <numerusform>Courier ID, PIN or badge not recognised. %n attempt left before a pause.</numerusform>
            <numerusform>Courier ID, PIN or badge not recognised. %n attempts left before a pause.</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>CourierMenuScreen</name>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/courier_menu.py" line="74"/>
        <source>%n parcels waiting</source>
        <translation>
            <numerusform>%n parcel waiting</numerusform>
            <numerusform>%n parcels waiting</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>CourierSummaryScreen</name>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/courier_summary.py" line="55"/>
        <source>%n doors did not open; they were reported and taken out of use.</source>
        <translation>
            <numerusform>%n door did not open; it was reported and taken out of use.</numerusform>
            <numerusform>%n doors did not open; they were reported and taken out of use.</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>DoorOpenScreen</name>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/door_open.py" line="73"/>
        <source>Opening doors %1…</source>
        <translation>
            <numerusform>Opening door %1…</numerusform>
            <numerusform>Opening doors %1…</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/door_open.py" line="75"/>
        <source>Doors %1 are open</source>
        <translation>
            <numerusform>Door %1 is open</numerusform>
            <numerusform>Doors %1 are open</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/door_open.py" line="101"/>
        <source>Take the parcels out and close the doors.</source>
        <translation>
            <numerusform>Take the parcel out and close the door.</numerusform>
            <numerusform>Take the parcels out and close the doors.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/door_open.py" line="104"/>
        <source>Take your parcels and close the doors.</source>
        <translation>
            <numerusform>Take your parcel and close the door.</numerusform>
            <numerusform>Take your parcels and close the doors.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/door_open.py" line="80"/>
        <source>Your doors are highlighted on the map.</source>
        <translation>
            <numerusform>Your door is highlighted on the map.</numerusform>
            <numerusform>Your doors are highlighted on the map.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/door_open.py" line="83"/>
        <source>The door did not open</source>
        <translation>
            <numerusform>The door did not open</numerusform>
            <numerusform>A door did not open</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>FaceConsentScreen</name>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/face_consent.py" line="73"/>
        <source>Until you ask us to forget them, and deleted after %n days without use.</source>
        <translation>
            <numerusform>Until you ask us to forget them, and deleted after %n day without use.</numerusform>
            <numerusform>Until you ask us to forget them, and deleted after %n days without use.</numerusform>
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
        <location filename="../kiosk/ui/screens/pickup_code.py" line="95"/>
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
    <name>ReturnCodeScreen</name>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/return_code.py" line="95"/>
        <source>That return code was not recognised, or it was used already. %n attempts left before a pause.</source>
        <translation>
            <numerusform>That return code was not recognised, or it was used already. %n attempt left before a pause.</numerusform>
            <numerusform>That return code was not recognised, or it was used already. %n attempts left before a pause.</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>ThankYouScreen</name>
    <message numerus="yes">
        <location filename="../kiosk/ui/screens/thank_you.py" line="54"/>
        <source>You picked up %n parcels.</source>
        <translation>
            <numerusform>You picked up %n parcel.</numerusform>
            <numerusform>You picked up %n parcels.</numerusform>
        </translation>
    </message>
</context>
</TS>
